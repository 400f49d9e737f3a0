"""Stage 3: crop each hand and run the pose network (ONNX Runtime) to 3-D joints in mm."""
