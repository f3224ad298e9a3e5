"""Per-camera tracking: one decision per person or vehicle passing a camera, not one per frame."""
