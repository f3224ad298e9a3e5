"""Camera actors: pull frames from many cameras, sample them, send small inputs to the models, track."""
