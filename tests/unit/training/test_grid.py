import copy
import io
import json
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score
from torch import nn

from alien.core.feature_set import FeatureSet
from alien.core.head import AlienHead
from alien.core.uncertainty import uncertainty_from_logits
from alien.training import AlienHeadEnsemble, GridPoint, GridResult, GridSearch, fit_alien, grid_points
from tests.unit.training.reference import auroc as _auroc
from tests.unit.training.reference import reference_fit
from tests.unit.training.synthetic import make_head, pooler_core, shifted, synthetic_features

ONE = {"learning_rates": (1e-2,), "alphas": (0.1,), "betas": (0.01,)}


@pytest.fixture(scope="module")
def core() -> nn.Sequential:
    return pooler_core()


@pytest.fixture(scope="module")
def data(core) -> tuple[FeatureSet, FeatureSet]:
    truth = shifted(core, scale=0.6)
    return synthetic_features(core, truth, 500, seed=1), synthetic_features(core, truth, 400, seed=2)


@pytest.mark.parametrize("kind", ["entropy", "smoothmax"])
def test_batched_grid_equals_plain_reference_loop(core, data, kind):
    train, val = data
    head = AlienHead(copy.deepcopy(core), num_labels=2, kind=kind).eval()
    # lr 1e-3: at much larger rates this synthetic problem is chaotic (a 1e-7 change of the
    # inputs moves the weights by 1e-2 in the reference loop itself), so float rounding would decide
    cfg = {**ONE, "learning_rates": (1e-3,), "max_epochs": 8, "patience": 3, "batch_size": 64}
    result = fit_alien(head, train, val, **cfg)
    ref, ref_best_epoch, ref_history = reference_fit(
        head, train, val, GridPoint(1e-3, 0.1, 0.01), GridSearch(**cfg)
    )

    trial = result.best
    assert trial.history == pytest.approx(ref_history, abs=1e-6)
    assert trial.best_epoch == ref_best_epoch >= 1  # training moved the head somewhere better
    # the first epoch reaching the maximum is kept: a later exact tie is not an improvement
    assert trial.best_epoch == trial.history.index(max(trial.history)) + 1
    assert trial.epochs_run == len(ref_history)
    for (name, p), q in zip(result.head.named_parameters(), ref.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-6), name
    with torch.no_grad():
        moved = max(
            float((p - q).abs().max())
            for p, q in zip(result.head.parameters(), head.parameters(), strict=True)
        )
    assert moved > 1e-3


def test_training_improves_validation_auroc(core, data):
    train, val = data
    head = make_head(core)
    cfg = dict(learning_rates=(1e-2, 3e-3), alphas=(0.01, 0.1), betas=(0.01,), max_epochs=15, patience=4)
    result = fit_alien(head, train, val, **cfg)
    initial = _auroc(head, val)
    # the untrained head is the backbone's own entropy, and it is what the grid reports as the start
    assert result.initial_val_auroc == pytest.approx(initial, abs=1e-9)
    with torch.no_grad():
        assert torch.allclose(head(val.features), uncertainty_from_logits(val.logits))
    assert result.best.val_auroc > initial + 0.03
    assert _auroc(result.head, val) == pytest.approx(result.best.val_auroc, abs=1e-6)
    assert result.best.val_auroc == max(t.val_auroc for t in result.trials)


def test_input_head_is_not_modified_and_result_is_new(core, data):
    head = make_head(core)
    before = copy.deepcopy(head.state_dict())
    result = fit_alien(head, *data, **ONE, max_epochs=3)
    assert all(torch.equal(before[k], v) for k, v in head.state_dict().items())
    assert result.head is not head
    assert not result.head.training
    assert any(not torch.equal(before[k], v) for k, v in result.head.state_dict().items())


def test_same_seed_is_bitwise_reproducible_and_global_rng_untouched(core, data):
    cfg = dict(
        learning_rates=(1e-2, 1e-3), alphas=(0.1,), betas=(0.01, 1.0), max_epochs=4, oversample_errors=True
    )
    state = torch.get_rng_state()
    a = fit_alien(make_head(core), *data, **cfg)
    b = fit_alien(make_head(core), *data, **cfg)
    assert torch.equal(state, torch.get_rng_state())  # includes the core's Dropout: it must stay inert
    assert a.trials == b.trials
    for p, q in zip(a.head.parameters(), b.head.parameters(), strict=True):
        assert torch.equal(p, q)
    c = fit_alien(make_head(core), *data, **{**cfg, "seed": 1})
    assert c.trials != a.trials


def test_oversampling_changes_training(core, data):
    base = dict(**ONE, max_epochs=3, patience=3)
    plain = fit_alien(make_head(core), *data, **base)
    over = fit_alien(make_head(core), *data, **{**base, "oversample_errors": True})
    assert plain.best.history != over.best.history


def test_early_stopping_keeps_the_initial_head_when_training_only_hurts(core):
    # train errors follow a shift one way, validation errors the opposite way
    train = synthetic_features(core, shifted(core, scale=0.6), 600, seed=1)
    val = synthetic_features(core, shifted(core, scale=-0.6), 400, seed=2)
    head = make_head(core)
    result = fit_alien(head, train, val, **ONE, max_epochs=20, patience=3)
    trial = result.best
    assert trial.best_epoch == 0
    assert trial.epochs_run == 3  # stopped after `patience` epochs without improvement
    assert all(h < result.initial_val_auroc for h in trial.history)
    assert trial.val_auroc == result.initial_val_auroc
    for p, q in zip(result.head.parameters(), head.parameters(), strict=True):
        assert torch.equal(p, q)


def test_early_stopping_restores_the_best_middle_epoch(core):
    # a tiny train set and a large learning rate: validation ROC-AUC rises, then falls (over-fitting)
    truth = shifted(core, scale=0.6)
    train = synthetic_features(core, truth, 200, seed=1)
    val = synthetic_features(core, truth, 400, seed=2)
    cfg = dict(learning_rates=(3e-2,), alphas=(0.01,), betas=(0.0,), max_epochs=30, patience=3)
    result = fit_alien(make_head(core), train, val, **cfg)
    trial = result.best
    assert 1 <= trial.best_epoch < trial.epochs_run < cfg["max_epochs"]  # the case this test needs
    assert trial.epochs_run == trial.best_epoch + cfg["patience"]
    assert trial.val_auroc == max(trial.history) == trial.history[trial.best_epoch - 1]
    assert all(h <= trial.val_auroc for h in trial.history[trial.best_epoch :])
    assert _auroc(result.head, val) == pytest.approx(trial.val_auroc, abs=1e-6)
    assert _auroc(result.head, val) > trial.history[-1] + 1e-3  # the last epoch was not kept


def test_configs_are_independent_one_vs_27(core, data):
    train, val = data
    full_cfg = dict(learning_rates=(3e-3, 1e-3, 3e-4), max_epochs=5, patience=2, batch_size=64)
    full = fit_alien(make_head(core), train, val, **full_cfg)
    assert len(full.trials) == 27
    # the results carry their grid point, in grid order; alpha and beta default to the paper's axes
    assert [t.point for t in full.trials] == grid_points(
        (3e-3, 1e-3, 3e-4), (0.01, 0.1, 1.0), (0.01, 0.1, 1.0)
    )
    assert full.trials[13].point == GridPoint(1e-3, 0.1, 0.1)
    # configs really differ, and some stop early while others go on
    assert len({t.history for t in full.trials}) > 9  # alpha and beta matter, not only lr
    assert len({t.epochs_run for t in full.trials}) > 1
    for chosen in (full.best, full.trials[13]):
        single_cfg = {
            **full_cfg,
            "learning_rates": (chosen.lr,),
            "alphas": (chosen.alpha,),
            "betas": (chosen.beta,),
        }
        single = fit_alien(make_head(core), train, val, **single_cfg)
        assert single.best.history == pytest.approx(chosen.history, abs=1e-6)
        assert (single.best.best_epoch, single.best.epochs_run) == (chosen.best_epoch, chosen.epochs_run)
        if chosen is full.best:
            for p, q in zip(single.head.parameters(), full.head.parameters(), strict=True):
                assert torch.allclose(p, q, atol=1e-5)


def test_result_to_dict_is_json(core, data):
    result = fit_alien(make_head(core), *data, max_epochs=2)
    assert isinstance(result, GridResult)
    d = json.loads(json.dumps(result.to_dict()))
    assert len(d["trials"]) == 27
    assert d["best"] == result.best.to_dict() | {"history": list(result.best.history)}
    assert d["initial_val_auroc"] == result.initial_val_auroc
    assert d["initial_val_bce"] == result.initial_val_bce
    assert (d["selection"], d["top_k"], d["selected"]) == ("roc_auc", 1, [result.trials.index(result.best)])
    keys = {"lr", "alpha", "beta", "val_auroc", "val_bce", "best_epoch", "epochs_run", "history"}
    assert set(d["trials"][0]) == keys
    assert d["trials"][4]["alpha"] == result.trials[4].point.alpha == 0.1


def test_token_level_feature_set_with_example_ids(core):
    truth = shifted(core, scale=0.6)
    train = synthetic_features(core, truth, 300, seed=1, example_ids=True)
    val = synthetic_features(core, truth, 200, seed=2, example_ids=True)
    assert train.example_ids is not None
    cfg = dict(**ONE, max_epochs=3)
    with_ids = fit_alien(make_head(core), train, val, **cfg)
    strip = lambda fs: FeatureSet(fs.features, fs.logits, fs.labels)  # noqa: E731
    without = fit_alien(make_head(core), strip(train), strip(val), **cfg)
    assert with_ids.trials == without.trials
    assert with_ids.best.epochs_run == 3


def _hf_head(family: str) -> AlienHead:
    from alien.core.head_builder import build_alien_head
    from tests.tiny import tiny_model

    return build_alien_head(tiny_model(family))


def _linear_head() -> AlienHead:
    torch.manual_seed(3)
    return AlienHead(nn.Linear(32, 3), num_labels=3).eval()


@pytest.mark.parametrize(
    "make",
    [_linear_head, lambda: _hf_head("bert"), lambda: _hf_head("roberta")],
    ids=["linear", "bert-pooler", "roberta-classification-head"],
)
def test_works_for_any_head_core(make):
    head = make()
    g = torch.Generator().manual_seed(0)
    z = torch.randn(300, 32, generator=g) * 2
    with torch.no_grad():
        logits = head.logits(z)
    flip = torch.rand(300, generator=g) < 0.3
    labels = torch.where(flip, (logits.argmax(1) + 1) % head.num_labels, logits.argmax(1))
    train, val = (
        FeatureSet(z[:200], logits[:200], labels[:200]),
        FeatureSet(z[200:], logits[200:], labels[200:]),
    )
    state = torch.get_rng_state()
    cfg = dict(learning_rates=(1e-2,), alphas=(0.1,), betas=(0.01,), max_epochs=4, patience=4)
    result = fit_alien(head, train, val, **cfg)
    assert torch.equal(state, torch.get_rng_state())  # any dropout stayed inert
    assert result.initial_val_auroc == pytest.approx(
        roc_auc_score(val.errors.numpy(), uncertainty_from_logits(val.logits).numpy()), abs=1e-9
    )
    assert result.best.epochs_run == 4
    assert len(set(result.best.history)) > 1  # the parameters moved
    assert _auroc(result.head, val) == pytest.approx(result.best.val_auroc, abs=1e-6)
    assert type(result.head.core) is type(head.core)


def test_bad_inputs_raise_naming_the_problem(core, data):
    train, val = data
    head = make_head(core)
    cfg = dict(max_epochs=1)
    narrow = FeatureSet(train.features[:, :8], train.logits, train.labels)
    with pytest.raises(ValueError, match="does not accept features of dim 8"):
        fit_alien(head, narrow, FeatureSet(val.features[:, :8], val.logits, val.labels), **cfg)
    with pytest.raises(ValueError, match="train features have dim 16 but validation features 8"):
        fit_alien(head, train, FeatureSet(val.features[:, :8], val.logits, val.labels), **cfg)
    correct = FeatureSet(val.features, val.logits, val.predictions)
    with pytest.raises(ValueError, match=r"undefined.*has 0 errors out of 400"):
        fit_alien(head, train, correct, **cfg)
    wrong = FeatureSet(val.features, val.logits, 1 - val.predictions)
    with pytest.raises(ValueError, match=r"undefined.*has 400 errors out of 400"):
        fit_alien(head, train, wrong, **cfg)
    with pytest.raises(ValueError, match="train feature set is empty"):
        fit_alien(head, train.subset(torch.arange(0)), val, **cfg)
    three = FeatureSet(train.features, torch.cat([train.logits, train.logits[:, :1]], 1), train.labels)
    with pytest.raises(ValueError, match="3 classes but the head has 2 labels"):
        fit_alien(head, three, val, **cfg)
    no_errors = FeatureSet(train.features, train.logits, train.predictions)
    with pytest.raises(ValueError, match="cannot over-sample errors"):
        fit_alien(head, no_errors, val, max_epochs=1, oversample_errors=True)
    with pytest.raises(TypeError, match="AlienHead"):
        fit_alien(core, train, val, **cfg)
    frozen = make_head(core).requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        fit_alien(frozen, train, val, **cfg)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_is_opt_in_and_only_on_a_terminal(core, data, monkeypatch):
    cfg = dict(**ONE, max_epochs=2)
    for progress, stream, shown in [
        (False, _Terminal(), False),
        (True, io.StringIO(), False),
        (True, _Terminal(), True),
    ]:
        monkeypatch.setattr(sys, "stderr", stream)
        fit_alien(make_head(core), *data, **cfg, progress=progress)
        assert ("align grid" in stream.getvalue()) is shown, (progress, type(stream).__name__)
        assert ("\r" in stream.getvalue()) is shown  # no bar redraws written into a log


SMALL = {
    "learning_rates": (3e-3, 1e-3),
    "alphas": (0.01, 1.0),
    "betas": (0.01,),
    "max_epochs": 8,
    "patience": 3,
}


def test_bce_selection_early_stops_and_selects_on_validation_bce(core, data):
    train, val = data
    by_bce = fit_alien(make_head(core), train, val, selection="bce", **SMALL)
    by_auc = fit_alien(make_head(core), train, val, **SMALL)
    with torch.no_grad():
        initial = float(F.binary_cross_entropy(make_head(core)(val.features).double(), val.errors.double()))
        kept = float(F.binary_cross_entropy(by_bce.head(val.features).double(), val.errors.double()))
    assert by_bce.initial_val_bce == pytest.approx(initial, rel=1e-6)
    assert by_bce.selection == "bce" and by_bce.to_dict()["selection"] == "bce"
    for t in by_bce.trials:  # the history is validation BCE; the kept epoch is its minimum
        assert t.best_epoch >= 1
        assert t.val_bce == min(t.history) == t.history[t.best_epoch - 1] < by_bce.initial_val_bce
    assert by_bce.best.val_bce == min(t.val_bce for t in by_bce.trials)
    assert kept == pytest.approx(by_bce.best.val_bce, rel=1e-5)
    # the two criteria really choose differently on this problem: epochs kept and run differ
    assert [(t.best_epoch, t.epochs_run) for t in by_bce.trials] != [
        (t.best_epoch, t.epochs_run) for t in by_auc.trials
    ]
    assert by_auc.best.val_auroc == max(t.val_auroc for t in by_auc.trials)


def test_top_k_averages_the_u_of_the_k_best_configs(core, data):
    train, val = data
    one = fit_alien(make_head(core), train, val, **SMALL)
    three = fit_alien(make_head(core), train, val, top_k=3, **SMALL)
    assert three.trials == one.trials  # averaging does not change the training
    ranked = sorted(range(4), key=lambda i: (-one.trials[i].val_auroc, i))
    assert three.selected == tuple(ranked[:3]) and three.best == one.best
    assert three.to_dict()["top_k"] == 3 and three.to_dict()["selected"] == ranked[:3]
    assert isinstance(three.head, AlienHeadEnsemble) and len(three.head) == 3
    assert not three.head.training
    for p, q in zip(three.head.members[0].parameters(), one.head.parameters(), strict=True):
        assert torch.equal(p, q)
    # each member is its config's kept head: the same config trained alone gives the same u
    alone = []
    for i in three.selected:
        point = one.trials[i].point
        single = {**SMALL, "learning_rates": (point.lr,), "alphas": (point.alpha,), "betas": (point.beta,)}
        alone.append(fit_alien(make_head(core), train, val, **single).head)
    with torch.no_grad():
        us = torch.stack([h(val.features) for h in alone])
        torch.testing.assert_close(three.head(val.features), us.mean(0), atol=1e-5, rtol=0)
        assert float((us[0] - us[2]).abs().max()) > 1e-3  # the average is not one config's u


def test_bad_settings_are_rejected_before_training(core, data):
    head = make_head(core)
    with pytest.raises(
        ValueError, match=r"fit_alien.selection: input should be 'roc_auc' or 'bce', got 'brier'"
    ):
        fit_alien(head, *data, selection="brier")
    with pytest.raises(ValueError, match="top_k must be at most the grid's 4 configs, got 5"):
        fit_alien(head, *data, **{**SMALL, "top_k": 5})
    with pytest.raises(ValueError, match=r"fit_alien.warmup_fraction: input should be greater than 0, got 0"):
        fit_alien(head, *data, warmup_fraction=0)
    with pytest.raises(
        TypeError, match=r"fit_alien\.learning_rates: input should be a valid tuple, got 0\.001"
    ):
        fit_alien(head, *data, learning_rates=1e-3)
    with pytest.raises(TypeError, match=r"unknown key 'fit_alien.lr'; allowed: \['alphas', 'batch_size'"):
        fit_alien(head, *data, lr=1e-3)


def test_a_grid_search_is_the_recipe_and_keywords_override_it(core, data):
    search = GridSearch(**SMALL, top_k=2)
    given = fit_alien(make_head(core), *data, search)
    assert given.to_dict() == fit_alien(make_head(core), *data, **SMALL, top_k=2).to_dict()
    assert fit_alien(make_head(core), *data, search, top_k=1).selected == given.selected[:1]


def test_training_does_not_import_the_pipeline_config():
    probe = (
        "import sys, alien.training; print(sorted(m for m in sys.modules if m.startswith('alien.config')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
