"""The controller's use of the model registry: settings and the ops CLI and API share."""
