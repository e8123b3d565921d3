"""Model serving: the process a model image runs (`python3 -m serving`).

It loads the model layer's manifest (serving.manifest), builds the model, its variant and its
input path from bench/ (serving.model), runs inferences one at a time on one worker thread
and reports each to the device's agent (serving.service), and answers HTTP on the standard
library's server (serving.http). Only the standard library, torch and Pillow: the runtime
image has nothing else.
"""
