"""MLflow "models from code" entry point for :class:`~alien.tracking.pyfunc.AlienPyfuncModel`.

Logged as a source file, so nothing is pickled: loading the model runs this file,
and the weights come from the deployable folder (safetensors + JSON). MLflow
executes it; nothing else should import it.
"""

from mlflow.models import set_model

from alien.tracking.pyfunc import AlienPyfuncModel

set_model(AlienPyfuncModel())
