"""The book's networks in PyTorch: models, one training loop, checkpoints, chapter 6's experiments.

Every model takes images ``x: (N, C, H, W)`` float32 in [0, 1] (characters: ``(N, 1, 32, 32)``,
ink dark on a white background, exactly as :mod:`helpers.data` stores them) and returns class
scores (logits) ``(N, n_classes)``; softmax gives probabilities. ``from helpers import torch_models as tm``
gives every name below; they live in:

- ``models.py``       :class:`MLP` (chapter 3's 1024-64-36 network, loads/exports a :mod:`helpers.nn`
  params dict), :class:`Normalize`, :class:`SmallCNN` (about 91k parameters), :class:`SqueezeNetClassifier`
  and :func:`squeezenet` (SqueezeNet 1.1 for 32x32 grayscale, ImageNet weights only from the local torch
  hub cache: :func:`imagenet_weights_file`), :func:`replace_head`, :func:`set_trainable`,
  :func:`count_parameters`
- ``training.py``     :func:`train_step` (one batch: forward, loss, zero_grad, backward, step), :func:`train_epoch`
  (the plain loop over the batches) and
  :func:`train` (seeds, device, threads, schedule, validation, progress bar and per-epoch history around
  it), :func:`train_mode`, :func:`random_batches`, :func:`random_affine`, :func:`as_tensors`, :func:`evaluate`,
  :func:`predict_proba`, :func:`format_history`
- ``checkpoints.py``  :func:`save_checkpoint`, :func:`load_checkpoint`, :func:`train_or_load` (trained once,
  cached in ``data_dir()/torch/`` under :func:`checkpoint_path`, keyed with :func:`fingerprint` of the data),
  the book's trained networks :func:`book_cnn` (behind :func:`load_classifier`, the hook of
  ``ocr --model cnn``) and :func:`pretrained_squeezenet`
- ``transfer.py``     chapter 6's transfer experiments:
  :func:`mnist_target_task`, :func:`labelled_subset`, :func:`split_pool`, :func:`digits_cnn`,
  :func:`letters_squeezenet`, :func:`finetune_backbone`, :func:`zero_label_accuracy`, :func:`backbone_features`,
  :func:`adapt` (``FT_STRATEGIES``, ``FT_SETTINGS``, ``FT_LR_GRID``), :func:`finetune_experiment`
- ``flowers.py``      the homework's flowers17 experiment, when its files are here: :func:`flowers17_ready`,
  :func:`flowers17_experiment`

``training.py`` also holds :func:`train_same_batches` (chapter 3's SGD in PyTorch, batch for batch), and
``checkpoints.py`` :func:`mlp_controls` (the MLP trained with the CNN's recipe).

The real-data loaders (EMNIST, flowers17) live in :mod:`helpers.data.loaders`; they are re-exported here
because chapter 6 uses them. To monkeypatch a name for a test, patch the module that looks it up
(e.g. ``helpers.torch_models.transfer.mnist_target_task``), not this package.
"""
from __future__ import annotations

from ..data.loaders import FLOWERS17_CLASSES, build_flowers17_folders, load_emnist, load_flowers17
from .checkpoints import (CNN_SETTINGS, SQUEEZE_SETTINGS, book_cnn, book_cnns, checkpoint_path, fingerprint, load_checkpoint,
                          load_classifier, mlp_controls, pretrained_squeezenet, save_checkpoint, train_or_load)
from .flowers import FLOWERS_SETTINGS, FLOWERS_SIZE, flowers17_experiment, flowers17_ready
from .models import (N_CLASSES, MLP, Normalize, SmallCNN, SqueezeNetClassifier, count_parameters,
                     imagenet_weights_file, replace_head, set_trainable, squeezenet)
from .training import (as_tensors, evaluate, format_history, predict_proba, random_affine, random_batches, train,
                       train_epoch, train_mode, train_same_batches, train_step)
from .transfer import (BACKBONE_SOURCES, DIGITS_CNN_SETTINGS, FT_LR_GRID, FT_SELECT_K, FT_SETTINGS, FT_STRATEGIES,
                       FT_VERSION, LETTERS, MNIST_HELD_OUT_PER_CLASS, adapt, backbone_features, digits_cnn,
                       finetune_backbone, finetune_experiment, labelled_subset, letters_squeezenet, mnist_target_task,
                       split_pool, zero_label_accuracy)
from .transfer import CHAPTER6_MODELS, SHARED_MODELS, prepare

__all__ = [
    "N_CLASSES", "MLP", "SmallCNN", "Normalize", "SqueezeNetClassifier", "squeezenet", "imagenet_weights_file",
    "replace_head", "set_trainable", "count_parameters", "as_tensors", "evaluate", "predict_proba", "train",
    "train_step", "train_epoch", "train_mode", "random_batches", "random_affine", "format_history", "save_checkpoint", "load_checkpoint",
    "checkpoint_path", "fingerprint", "train_or_load", "book_cnn", "book_cnns", "pretrained_squeezenet", "load_classifier",
    "load_emnist", "FLOWERS17_CLASSES", "build_flowers17_folders", "load_flowers17",
    "train_same_batches", "mnist_target_task", "labelled_subset", "digits_cnn", "finetune_backbone",
    "backbone_features", "FT_STRATEGIES", "FT_SETTINGS", "adapt", "finetune_experiment",
    "LETTERS", "letters_squeezenet", "BACKBONE_SOURCES", "CHAPTER6_MODELS", "SHARED_MODELS", "prepare", "zero_label_accuracy", "FT_LR_GRID", "FT_SELECT_K",
    "split_pool", "mlp_controls", "FLOWERS_SIZE", "FLOWERS_SETTINGS", "flowers17_ready", "flowers17_experiment",
]
