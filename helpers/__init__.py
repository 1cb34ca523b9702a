"""Shared code for the course book *Neural Networks for Recognition*.

The map of the package, one idea a file, in the homework's vocabulary (chapter in brackets):

    config.py          run settings: BOOK_MODE (quick/full), BOOK_SEED, budgets, seeds, data cache, torch device
    claims.py          claim(): outcome claims checked and recorded with their margin
    margins.py         the margin report: python -m helpers claims --seeds 0 1 2 [--full]
    nn.py              the from-scratch numpy network: sigmoid, softmax, initialize_weights, forward,
                       backwards, compute_loss_and_acc, get_random_batches, train_epoch, the gradient checker  [2, 3]
    mlp.py             the chapter-3 network trained once and cached; confusions, weight mosaics      [3]
    pad.py             the drawing pad: strokes -> OCR framing -> 32x32 -> the chapter-3 network;       [3, 4]
                       the page's book/_static/pad-pipeline.js repeats it line for line
    data/              the characters
      charset.py         CLASSES (A-Z then 0-9), CharacterSet
      generator.py       the NIST36-compatible character generator (drawing code only)
      cache.py           load_characters: generated sets cached, keyed on the drawing code
      loaders.py         real data: load_nist36 (.mat), load_mnist_digits, load_emnist, load_flowers17
      text.py            render_text_image (lines of text in a style)
      cli.py             python -m helpers data
    ocr/               reading photographed pages                                                   [4]
      images.py          read_image and input checks
      layout.py          steps 1-2 (light, threshold, ink), analyze_page, findLetters
      components.py      step 3: connected components into letters
      lines.py           step 4: group_lines, word_spaces, estimate_skew
      crops.py           step 5: crop_to_square, prepare_crops
      reading.py         step 6: classify and decode; read_page, load_reader
      pages.py           synthetic test pages with known text (make_test_page, HOMEWORK_PAGES)
      evaluate.py        edit distance, character accuracy, degradation curves
      plots.py           boxes, lines and crops drawn on a page
      cli.py             python -m helpers ocr
    compression/       autoencoder against PCA                                                     [5]
      metrics.py         psnr
      pca.py             pca_by_svd, PCA, fit_pca
      autoencoder.py     the numpy autoencoder: forward, backward, one momentum epoch, training
      cache.py           trained autoencoders cached
      studies.py         parameter counts, dead units, the bottleneck sweep
      conv.py            the small convolutional autoencoder (torch)
      figures.py         image_rows
    torch_models/      PyTorch                                                                      [6]
      models.py          MLP, SmallCNN, SqueezeNet, replace_head, set_trainable
      training.py        train_epoch (the plain loop) and train (with history, schedule, device)
      checkpoints.py     trained models cached; book_cnn, pretrained_squeezenet, load_classifier
      transfer.py        fine-tuning and transfer experiments
    checks/            the checks of the "Your turn" exercises, one file per chapter group
    student.py         the student edition: answers replaced by stubs (python -m helpers student)
    interactive.py     figures with sliders that work in Jupyter and in the static book
    plots.py           small plotting helpers shared by the chapters
    _glyphs.py         stroke glyphs for the generator

Modules are imported lazily so that ``import helpers`` stays cheap (no torch import).
"""
__all__ = ["config", "claims", "interactive", "nn", "mlp", "data", "ocr", "compression", "torch_models", "plots",
           "checks", "student", "pad"]
