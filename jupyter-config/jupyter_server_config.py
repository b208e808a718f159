# JupyterLab's settings for this workshop: `make lab` puts this folder on JUPYTER_CONFIG_PATH, and Binder's
# postBuild copies this file into the environment.
#
# Kernels talk to JupyterLab over ZeroMQ on 127.0.0.1. Unless JupyterLab hands a kernel CurveZMQ keys,
# ipykernel logs "Kernel is running over TCP without encryption ..." as a WARNING on every start, which
# a learner takes for an error. "auto" gives keys to kernels whose kernel spec declares
# `"supported_encryption": "curve"`, as ipykernel's (this workshop's kernel) does; other kernels start as
# before. It needs a libzmq built with CurveZMQ (pyzmq's wheels are): without it, "auto" would stop
# every kernel from starting, so it is asked for only when zmq has it.
import zmq

c = get_config()  # noqa: F821 (Jupyter defines get_config in its config files)
if zmq.has("curve"):
    c.MappingKernelManager.transport_encryption = "auto"
