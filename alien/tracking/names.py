"""Every alias and tag name the product writes into MLflow, in one place.

The registry's state is aliases and tags on one registered model (MLflow stages
are deprecated); the runs carry tags too. Every other module names them through
these constants, never as string literals. ``docs/lifecycle.md`` explains them to users.
"""

from __future__ import annotations

# -- aliases of the registered model -----------------------------------------------------------------
CHAMPION = "champion"  # the version served: models:/<name>@champion
CHALLENGER = "challenger"  # the newest registered production candidate
PREVIOUS = "previous-champion"  # where a rollback goes
ROLLED_BACK = "rolled-back"  # the version the last rollback replaced (kept for the post-mortem)
PRODUCTION_ALIASES = (CHAMPION, CHALLENGER, PREVIOUS, ROLLED_BACK)

# -- registry modes ------------------------------------------------------------------------------------
PRODUCTION = "production"
EXPERIMENT = "experiment"  # registers versions that never get an alias
MODES = (PRODUCTION, EXPERIMENT)

# -- registered-model tags -------------------------------------------------------------------------
JOURNAL_TAG = "alien.journal"  # the plan of an unfinished change (journal.py)
EVENT_PREFIX = "alien.event."  # one tag per event of the promotion history (events.py)
TAG_PIN = "alien.pin"  # the pin a rollback set

# -- version tags: the registration ---------------------------------------------------------------
TAG_PENDING = "alien.pending"  # "true" while the registration is unfinished
TAG_TOKEN = "alien.registration_token"  # what was registered (also a run tag)
TAG_OWNER = "alien.owner"  # host:pid of the process that began the version (also a run tag)
TAG_OWNER_STARTED = "alien.owner_started"  # that process's start time, epoch s (defeats pid reuse)
TAG_PENDING_SINCE = "alien.pending_since"
TAG_MODE = "alien.mode"
TAG_DVC_EXPERIMENT = "alien.dvc_experiment"  # the `dvc exp run` that registered it (also a run tag)
TAG_OUTCOME = "alien.outcome"  # the last registration's headline (promoted / not promoted because …)
TAG_DECISION = "alien.decision"  # the last gate + register decision on it, JSON (alien.tracking.decision)
TAG_RUN_ID = "run_id"
TAG_TEST_SCORES = "alien.test_scores"  # run tag: {"artifact", "test_rows"} of its logged per-row test scores

# -- version tags: the lifecycle -------------------------------------------------------------------
TAG_ELIGIBLE = "alien.eligible"  # "false" once rolled back (or an experiment)
TAG_INELIGIBLE = "alien.ineligible"  # why not
TAG_ROLLED_BACK_AT = "rolled_back_at"
TAG_PROMOTED_AT = "promoted_at"
TAG_PROMOTED_FROM = "promoted_from"
TAG_PROMOTED_BY = "alien.promoted_by"
TAG_GATE_PASSED = "gate_passed"  # also a run tag
TAG_GATE_REPORT = "alien.gate_report"  # the report of a re-decided verdict
TAG_GATE_DECIDED_AT = "alien.gate_decided_at"

# -- version tags: what `alien champion` lists --------------------------------------------------
TAG_DATASET = "alien.dataset"
TAG_TASK = "alien.task"
TAG_LABELS = "alien.labels"
TAG_ROC_AUC = "alien.roc_auc"
TAG_ECE = "alien.ece"

# -- lineage: tags of the run and of the version ----------------------------------------------------
TAG_DATA_VERSION = "data_version"
TAG_DATA_VERSION_SOURCE = "data_version_source"
TAG_DATA_PATH = "data_path"
TAG_GIT_COMMIT = "git_commit"
TAG_GIT_DIRTY = "git_dirty"
LIBRARY_TAG_PREFIX = "version."  # version.torch, version.mlflow, ...

# -- run tags ----------------------------------------------------------------------------------------
RUN_PROMOTED = "promoted"
RUN_ROLLED_BACK = "rolled_back"
RUN_REGISTERED_VERSION = "registered_version"
RUN_FLOW_RUN_ID = "prefect.flow_run_id"
RUN_FLOW_RUN_URL = "prefect.flow_run_url"
# set when a registration's run starts (with TAG_OWNER, TAG_OWNER_STARTED): recovery finds it by them
RUN_PHASE = "alien.phase"
REGISTERING = "registering"  # the phase of a registration's run
RUN_MODEL = "alien.model_name"  # the registered model it registers into
RUN_FAILED_REASON = "alien.failed_reason"  # why recovery ended the run FAILED

# -- tags of a run's dataset inputs -----------------------------------------------------------------
INPUT_SOURCE = "alien.source"
INPUT_RAW_MD5 = "alien.raw_md5"
INPUT_RAW_MD5_FROM = "alien.raw_md5_from"
