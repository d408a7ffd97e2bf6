"""Training: the only package that imports Keras (except its Keras-free ``config`` and
``recipes``, which ``digitrec models`` and the command line read without it).

In the order a run uses them:

- :mod:`~digitrec.training.recipes`: named recipes, each an architecture and its settings;
- :mod:`~digitrec.training.config`: :class:`TrainConfig`, every setting of a run;
- :mod:`~digitrec.training.architectures`: the Keras networks;
- :mod:`~digitrec.training.augmentation` and :mod:`~digitrec.training.outliers`: what is added
  to the training images;
- :mod:`~digitrec.training.fitting`: ``model.fit`` with the schedule, batches and epoch kept;
- :mod:`~digitrec.training.train`: a run folder (fit, evaluate, export to ONNX, records);
- :mod:`~digitrec.training.cross_validation`: K-fold cross-validation;
- :mod:`~digitrec.training.synthetic_strings` (Keras-free): written numbers made from real
  isolated digits, the training data of a digit-string reader (issue 20, in progress).

Keras runs on the backend that ``KERAS_BACKEND`` names, TensorFlow by default (the batches are
a ``tf.data`` pipeline, so TensorFlow must be installed whatever the backend).
"""
