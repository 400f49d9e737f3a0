"""depthhand: real-time 3D hand pose estimation from depth cameras.

Importing this package is cheap: it loads no model, no sensor library and never torch.
"""

__version__ = "0.1.0"
