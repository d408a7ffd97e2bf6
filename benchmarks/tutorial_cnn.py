"""The tutorial's recipe, as the tutorial wrote it: plain Keras, no digitrec.

F. Chollet, "Deep Learning with Python" (Manning, 2017), section 5.1: the 93,322-parameter convnet,
rmsprop, categorical crossentropy on one-hot labels, batch 64, 5 epochs, no validation split. The
one change: the tutorial's `mnist.load_data()` downloads `mnist.npz`, so this reads the same
images from the local IDX files with gzip and numpy, as a tutorial reader without internet would.

    python benchmarks/tutorial_cnn.py [--epochs 5]

Prints one JSON line: per-epoch seconds; the wall seconds from before reading the data to the
end of each epoch (the test evaluations after each epoch left out); the test accuracy after each
epoch; the parameters; and the median seconds of `model.predict` on one image.
"""

import argparse
import gzip
import json
import os
import statistics
import time

import keras
import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--data-dir", default=os.environ.get("DIGITREC_DATA", "../shared/data"))
arguments = parser.parse_args()


started = time.perf_counter()


def read(name, offset):
    with gzip.open(os.path.join(arguments.data_dir, "mnist", name)) as file:
        return np.frombuffer(file.read(), np.uint8, offset=offset)


train_images = read("train-images-idx3-ubyte.gz", 16).reshape(60000, 28, 28, 1)
train_labels = read("train-labels-idx1-ubyte.gz", 8)
test_images = read("t10k-images-idx3-ubyte.gz", 16).reshape(10000, 28, 28, 1)
test_labels = read("t10k-labels-idx1-ubyte.gz", 8)
train_images = train_images.astype("float32") / 255
test_images = test_images.astype("float32") / 255
train_labels = keras.utils.to_categorical(train_labels)
test_labels = keras.utils.to_categorical(test_labels)

model = keras.Sequential([
    keras.Input((28, 28, 1)),
    keras.layers.Conv2D(32, (3, 3), activation="relu"),
    keras.layers.MaxPooling2D((2, 2)),
    keras.layers.Conv2D(64, (3, 3), activation="relu"),
    keras.layers.MaxPooling2D((2, 2)),
    keras.layers.Conv2D(64, (3, 3), activation="relu"),
    keras.layers.Flatten(),
    keras.layers.Dropout(0.25),
    keras.layers.Dense(64, activation="relu"),
    keras.layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])

epoch_seconds, elapsed, test_accuracy = [], [], []
evaluating = 0.0


class Timer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        global evaluating
        now = time.perf_counter()
        epoch_seconds.append(now - self.started)
        elapsed.append(now - started - evaluating)
        # Outside the timed span: the test accuracy after this epoch, for "time to 99%".
        test_accuracy.append(model.evaluate(test_images, test_labels, verbose=0)[1])
        evaluating += time.perf_counter() - now


model.fit(train_images, train_labels, epochs=arguments.epochs, batch_size=64, verbose=0,
          callbacks=[Timer()])
one_image = test_images[:1]
model.predict(one_image, verbose=0)
predict_seconds = []
for _ in range(20):
    begun = time.perf_counter()
    model.predict(one_image, verbose=0)
    predict_seconds.append(time.perf_counter() - begun)
print(json.dumps({"epoch_seconds": epoch_seconds, "elapsed": elapsed,
                  "test_accuracy": test_accuracy, "parameters": model.count_params(),
                  "predict_one_seconds": statistics.median(predict_seconds)}))
