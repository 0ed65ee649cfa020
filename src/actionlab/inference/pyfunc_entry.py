"""The logged classifier model's code (MLflow "models from code"): MLflow stores this file with
the model and runs it on load, so nothing is pickled; the artifacts hold the weights."""

import mlflow

from actionlab.inference.pyfunc import ClassifierModel

mlflow.models.set_model(ClassifierModel())
