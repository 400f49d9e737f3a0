"""The default synthetic hand at rest, as tables: what the label-free checks compare real hands with.

:mod:`depthhand.evaluate.real_checks` (and through it the pose-stage verification on the live path) needs the
default hand's bone lengths and flesh radii. They are the synthetic generator's (``forward_kinematics(HandState())``
of :mod:`depthhand.synth.kinematics`, canonical21), written out here so that the runtime does not import the
generator; ``tests/evaluate/test_rest_hand.py`` checks the tables against it.
"""

REST_JOINTS_MM = (
    (0.0, 0.0, 600.0),
    (-20.0, 22.0, 590.0),
    (-49.247298, 51.247298, 582.706777),
    (-71.252408, 73.252408, 577.219494),
    (-90.054243, 92.054243, 572.530993),
    (-26.0, 89.0, 600.0),
    (-28.776308, 128.703049, 600.0),
    (-30.338853, 151.048484, 600.0),
    (-31.70608, 170.600739, 600.0),
    (-7.0, 92.0, 600.0),
    (-7.0, 136.6, 600.0),
    (-7.0, 162.9, 600.0),
    (-7.0, 184.3, 600.0),
    (10.0, 88.0, 599.5),
    (12.887918, 129.299152, 599.5),
    (14.680659, 154.936548, 599.5),
    (16.166472, 176.184662, 599.5),
    (26.0, 81.0, 598.5),
    (31.099764, 113.19864, 598.5),
    (33.931227, 131.075799, 598.5),
    (37.012986, 150.533259, 598.5),
)  # fmt: skip
"""(21, 3) the joints of the default synthetic hand at rest, canonical21, camera mm."""
REST_RADII_MM = (
    16.8,
    13.0,
    11.0,
    8.5,
    8.0,
    9.5,
    8.5,
    7.0,
    6.0,
    9.5,
    8.8,
    7.2,
    6.2,
    9.0,
    8.2,
    6.8,
    5.8,
    8.0,
    7.2,
    6.0,
    5.2,
)
"""(21,) that hand's flesh radius at each joint, mm."""
