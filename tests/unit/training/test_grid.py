import copy
import json

import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score
from torch import nn

from alien.config import AlignConfig
from alien.core.feature_set import FeatureSet
from alien.core.head import AlienHead
from alien.core.uncertainty import uncertainty_from_logits
from alien.training import GridResult, fit_alien, grid_configs
from alien.training.sampler import EpochBatches
from tests.unit.training.synthetic import make_head, pooler_core, shifted, synthetic_features

ONE = {"learning_rates": (1e-2,), "alphas": (0.1,), "betas": (0.01,)}


@pytest.fixture(scope="module")
def core() -> nn.Sequential:
    return pooler_core()


@pytest.fixture(scope="module")
def data(core) -> tuple[FeatureSet, FeatureSet]:
    truth = shifted(core, scale=0.6)
    return synthetic_features(core, truth, 500, seed=1), synthetic_features(core, truth, 400, seed=2)


def _auroc(head: AlienHead, fs: FeatureSet) -> float:
    with torch.no_grad():
        return float(roc_auc_score(fs.errors.numpy(), head(fs.features).numpy()))


def _reference_fit(head: AlienHead, train: FeatureSet, val: FeatureSet, cfg: AlignConfig):
    """The textbook loop for one config: torch.optim.Adam + OneCycleLR, same batches, best epoch kept."""
    (lr,), (alpha,), (beta,) = cfg.learning_rates, cfg.alphas, cfg.betas
    model = copy.deepcopy(head).eval()
    p0 = {n: p.detach().clone() for n, p in model.named_parameters()}
    batches = EpochBatches(
        train.errors, batch_size=cfg.batch_size, oversample=cfg.oversample_errors, seed=cfg.seed
    )
    total = cfg.max_epochs * batches.steps_per_epoch
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt,
        max_lr=lr,
        total_steps=total,
        pct_start=cfg.warmup_fraction,
        anneal_strategy="cos",
        cycle_momentum=False,
    )
    u0 = uncertainty_from_logits(train.logits, kind=head.kind)
    best, best_epoch, best_state, history, bad, step = _auroc(model, val), 0, None, [], 0, 0
    best_state = copy.deepcopy(model.state_dict())
    for epoch in range(1, cfg.max_epochs + 1):
        for b in batches.epoch():
            u = model(train.features[b])
            l2sp = sum(((p - p0[n]) ** 2).sum() for n, p in model.named_parameters())
            loss = (
                F.binary_cross_entropy(u, train.errors[b]) + alpha * ((u - u0[b]) ** 2).mean() + beta * l2sp
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if step < total:
                sched.step()
        auc = _auroc(model, val)
        history.append(auc)
        if auc > best:
            best, best_epoch, bad, best_state = auc, epoch, 0, copy.deepcopy(model.state_dict())
        else:
            bad += 1
            if bad >= cfg.patience:
                break
    model.load_state_dict(best_state)
    return model, best_epoch, history


@pytest.mark.parametrize("kind", ["entropy", "smoothmax"])
def test_batched_grid_equals_plain_reference_loop(core, data, kind):
    train, val = data
    head = AlienHead(copy.deepcopy(core), num_labels=2, kind=kind).eval()
    # lr 1e-3: at much larger rates this synthetic problem is chaotic (a 1e-7 change of the
    # inputs moves the weights by 1e-2 in the reference loop itself), so float rounding would decide
    cfg = AlignConfig(
        learning_rates=(1e-3,), alphas=(0.1,), betas=(0.01,), max_epochs=8, patience=3, batch_size=64
    )
    result = fit_alien(head, train, val, config=cfg)
    ref, ref_best_epoch, ref_history = _reference_fit(head, train, val, cfg)

    trial = result.best
    assert trial.history == pytest.approx(ref_history, abs=1e-6)
    assert trial.best_epoch == ref_best_epoch >= 1  # training moved the head somewhere better
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
    cfg = AlignConfig(
        learning_rates=(1e-2, 3e-3), alphas=(0.01, 0.1), betas=(0.01,), max_epochs=15, patience=4
    )
    result = fit_alien(head, train, val, config=cfg)
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
    result = fit_alien(head, *data, config=AlignConfig(**ONE, max_epochs=3))
    assert all(torch.equal(before[k], v) for k, v in head.state_dict().items())
    assert result.head is not head
    assert not result.head.training
    assert any(not torch.equal(before[k], v) for k, v in result.head.state_dict().items())


def test_same_seed_is_bitwise_reproducible_and_global_rng_untouched(core, data):
    cfg = AlignConfig(
        learning_rates=(1e-2, 1e-3), alphas=(0.1,), betas=(0.01, 1.0), max_epochs=4, oversample_errors=True
    )
    state = torch.get_rng_state()
    a = fit_alien(make_head(core), *data, config=cfg)
    b = fit_alien(make_head(core), *data, config=cfg)
    assert torch.equal(state, torch.get_rng_state())  # includes the core's Dropout: it must stay inert
    assert a.trials == b.trials
    for p, q in zip(a.head.parameters(), b.head.parameters(), strict=True):
        assert torch.equal(p, q)
    c = fit_alien(make_head(core), *data, config=AlignConfig(**{**cfg.__dict__, "seed": 1}))
    assert c.trials != a.trials


def test_oversampling_changes_training(core, data):
    base = AlignConfig(**ONE, max_epochs=3, patience=3)
    plain = fit_alien(make_head(core), *data, config=base)
    over = fit_alien(
        make_head(core), *data, config=AlignConfig(**{**base.__dict__, "oversample_errors": True})
    )
    assert plain.best.history != over.best.history


def test_early_stopping_keeps_the_initial_head_when_training_only_hurts(core):
    # train errors follow a shift one way, validation errors the opposite way
    train = synthetic_features(core, shifted(core, scale=0.6), 600, seed=1)
    val = synthetic_features(core, shifted(core, scale=-0.6), 400, seed=2)
    head = make_head(core)
    result = fit_alien(head, train, val, config=AlignConfig(**ONE, max_epochs=20, patience=3))
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
    cfg = AlignConfig(learning_rates=(3e-2,), alphas=(0.01,), betas=(0.0,), max_epochs=30, patience=3)
    result = fit_alien(make_head(core), train, val, config=cfg)
    trial = result.best
    assert 1 <= trial.best_epoch < trial.epochs_run < cfg.max_epochs  # the case this test needs
    assert trial.epochs_run == trial.best_epoch + cfg.patience
    assert trial.val_auroc == max(trial.history) == trial.history[trial.best_epoch - 1]
    assert all(h <= trial.val_auroc for h in trial.history[trial.best_epoch :])
    assert _auroc(result.head, val) == pytest.approx(trial.val_auroc, abs=1e-6)
    assert _auroc(result.head, val) > trial.history[-1] + 1e-3  # the last epoch was not kept


def test_configs_are_independent_one_vs_27(core, data):
    train, val = data
    full_cfg = AlignConfig(learning_rates=(3e-3, 1e-3, 3e-4), max_epochs=5, patience=2, batch_size=64)
    full = fit_alien(make_head(core), train, val, config=full_cfg)
    assert len(full.trials) == 27
    assert [(t.lr, t.alpha, t.beta) for t in full.trials] == grid_configs(full_cfg)
    # configs really differ, and some stop early while others go on
    assert len({t.history for t in full.trials}) > 9  # alpha and beta matter, not only lr
    assert len({t.epochs_run for t in full.trials}) > 1
    for chosen in (full.best, full.trials[13]):
        single_cfg = AlignConfig(
            **{
                **full_cfg.__dict__,
                "learning_rates": (chosen.lr,),
                "alphas": (chosen.alpha,),
                "betas": (chosen.beta,),
            }
        )
        single = fit_alien(make_head(core), train, val, config=single_cfg)
        assert single.best.history == pytest.approx(chosen.history, abs=1e-6)
        assert (single.best.best_epoch, single.best.epochs_run) == (chosen.best_epoch, chosen.epochs_run)
        if chosen is full.best:
            for p, q in zip(single.head.parameters(), full.head.parameters(), strict=True):
                assert torch.allclose(p, q, atol=1e-5)


def test_result_to_dict_is_json(core, data):
    result = fit_alien(make_head(core), *data, config=AlignConfig(max_epochs=2))
    assert isinstance(result, GridResult)
    d = json.loads(json.dumps(result.to_dict()))
    assert len(d["trials"]) == 27
    assert d["best"] == result.best.to_dict() | {"history": list(result.best.history)}
    assert d["initial_val_auroc"] == result.initial_val_auroc
    assert set(d["trials"][0]) == {"lr", "alpha", "beta", "val_auroc", "best_epoch", "epochs_run", "history"}


def test_token_level_feature_set_with_example_ids(core):
    truth = shifted(core, scale=0.6)
    train = synthetic_features(core, truth, 300, seed=1, example_ids=True)
    val = synthetic_features(core, truth, 200, seed=2, example_ids=True)
    assert train.example_ids is not None
    cfg = AlignConfig(**ONE, max_epochs=3)
    with_ids = fit_alien(make_head(core), train, val, config=cfg)
    strip = lambda fs: FeatureSet(fs.features, fs.logits, fs.labels)  # noqa: E731
    without = fit_alien(make_head(core), strip(train), strip(val), config=cfg)
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
    cfg = AlignConfig(learning_rates=(1e-2,), alphas=(0.1,), betas=(0.01,), max_epochs=4, patience=4)
    result = fit_alien(head, train, val, config=cfg)
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
    cfg = AlignConfig(max_epochs=1)
    narrow = FeatureSet(train.features[:, :8], train.logits, train.labels)
    with pytest.raises(ValueError, match="does not accept features of dim 8"):
        fit_alien(head, narrow, FeatureSet(val.features[:, :8], val.logits, val.labels), config=cfg)
    with pytest.raises(ValueError, match="train features have dim 16 but validation features 8"):
        fit_alien(head, train, FeatureSet(val.features[:, :8], val.logits, val.labels), config=cfg)
    correct = FeatureSet(val.features, val.logits, val.predictions)
    with pytest.raises(ValueError, match=r"undefined.*has 0 errors out of 400"):
        fit_alien(head, train, correct, config=cfg)
    wrong = FeatureSet(val.features, val.logits, 1 - val.predictions)
    with pytest.raises(ValueError, match=r"undefined.*has 400 errors out of 400"):
        fit_alien(head, train, wrong, config=cfg)
    with pytest.raises(ValueError, match="train feature set is empty"):
        fit_alien(head, train.subset(torch.arange(0)), val, config=cfg)
    three = FeatureSet(train.features, torch.cat([train.logits, train.logits[:, :1]], 1), train.labels)
    with pytest.raises(ValueError, match="3 classes but the head has 2 labels"):
        fit_alien(head, three, val, config=cfg)
    no_errors = FeatureSet(train.features, train.logits, train.predictions)
    with pytest.raises(ValueError, match="cannot over-sample errors"):
        fit_alien(head, no_errors, val, config=AlignConfig(max_epochs=1, oversample_errors=True))
    with pytest.raises(TypeError, match="AlienHead"):
        fit_alien(core, train, val, config=cfg)
    frozen = make_head(core).requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        fit_alien(frozen, train, val, config=cfg)


def test_progress_bar_is_opt_in(core, data, capsys):
    cfg = AlignConfig(**ONE, max_epochs=2)
    fit_alien(make_head(core), *data, config=cfg)
    assert "align grid" not in capsys.readouterr().err
    fit_alien(make_head(core), *data, config=cfg, progress=True)
    assert "align grid" in capsys.readouterr().err
