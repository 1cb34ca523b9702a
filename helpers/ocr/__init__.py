"""Text extraction from photographed hand-printed pages (chapter 4).

The classic pipeline of the homework, built with scikit-image and sized for phone photos::

    photo (H, W, 3) uint8
      -> grayscale, box-downscaled to a working size (at most ``max_side`` pixels a side)
      -> illumination correction (divide by a background estimated by max-pooling + grey closing)
      -> denoising (a small gaussian) -> one global threshold (Otsu's, kept out of the paper's noise,
         plus an offset)
      -> binary closing, connected components (``measure.label`` / ``regionprops``)
      -> merge pieces of one character (stacked pieces, e.g. a broken stroke), drop specks and ink
         shaped like no character (a straight bar, a pen's thick body)
      -> lines (skew estimated from the box centres, then 1-D clustering), left-to-right order,
         word gaps -> spaces
      -> crops prepared like the training images (square, 32x32, ink dark, stroke width brought into
         the training range)
      -> one batch through a character classifier (a cut wide box kept cut only where its pieces read
         better than the whole), words read as all letters or all digits, with the line as context -> lines

One file per idea, in the order of the chapter:

- ``sheet``       step 0: find_sheet (a page lying on a desk), turning a page upright
- ``images``      reading a photo file (read_image, OCRImageError), checking arrays, gray at a working size
- ``layout``      steps 1-2 (correct_light, choose_threshold, ink_mask), LayoutParams, PageLayout,
                  analyze_page (steps 1-4 with every intermediate image) and the homework's findLetters
- ``components``  step 3: connected_components, letters_from_components (merge pieces, drop specks),
                  split_touching (cut touching letters)
- ``lines``       step 4: estimate_skew, group_lines (lines and reading order), word_spaces
- ``crops``       step 5: prepare_crops (ink_amount, crop_to_square, fit_stroke_width, frame_crop), stroke_width
- ``reading``     step 6: decode (word context), read_page, PageReading, load_classifier, load_reader
- ``pages``       generated test photos with known text: make_test_page, TestPage, HOMEWORK_PAGES
- ``hard``        hard pages (desk, small sheet, touching, slanted, thin pen, a pen or a second page's edge
                  on the page, touching digits, wide letters) and evaluate_hard (found vs present, accuracy)
- ``evaluate``    scores: edit_distance, char_accuracy, evaluate_reader, confusions, degradation_curve
- ``photos``      real photos with their true text (data/photos/NAME.jpg + NAME.txt): find_photos,
                  read_truth, score_photos, total_score, format_scores, photo_table
- ``plots``       figures: plot_steps, plot_threshold, plot_layout, plot_pages, plot_crops, plot_reading
- ``homework``    the plain versions a student writes (findLetters, group_lines, prepare_crop): the Your-turn answers
- ``cli``         ``python -m helpers ocr [--model mlp|cnn] [--json] IMAGE...``, scored with
                  ``--truth FILE`` per image or ``--photos FOLDER``

::

    from helpers import ocr
    boxes, bw = ocr.findLetters(photo)           # (K, 4) [y1, x1, y2, x2]; bw: ink 0, paper 1
    reader = ocr.load_reader("cnn")              # trains and caches the model on first use
    reader(photo)                                # ['TO DO LIST', '1 MAKE A TO DO LIST', ...]
    page = ocr.make_test_page(seed=3)            # a generated photo with known text
    ocr.char_accuracy(reader(page.image), page.lines)
"""
from .cli import add_cli
from .components import connected_components, letters_from_components, split_touching
from .crops import crop_to_square, fit_stroke_width, frame_crop, ink_amount, prepare_crops, stroke_width
from .evaluate import (DEGRADATIONS, char_accuracy, char_correct, confusions, degradation_curve, edit_distance,
                       evaluate_reader, line_count_correct)
from .images import OCRImageError, read_image
from .layout import LayoutParams, PageLayout, analyze_page, choose_threshold, correct_light, findLetters, ink_mask
from .lines import estimate_skew, group_lines, word_spaces
from .hard import HARD_KINDS, evaluate_hard, make_hard_pages
from .pages import HOMEWORK_PAGES, TestPage, make_test_page, random_lines
from .photos import (Photo, TruthError, find_photos, format_scores, photo_table, read_truth, score_lines,
                     score_photos, total_score)
from .plots import (LINE_COLORS, plot_crops, plot_layout, plot_pages, plot_reading, plot_steps, plot_threshold,
                    text_bounds)
from .sheet import find_sheet
from .reading import MODELS, Classifier, PageReading, decode, load_classifier, load_reader, read_page, resolve_model

__all__ = [
    "LayoutParams", "PageLayout", "PageReading", "TestPage", "HOMEWORK_PAGES",
    "findLetters", "analyze_page", "prepare_crops", "read_page", "load_classifier", "load_reader",
    "make_test_page", "char_accuracy", "edit_distance", "line_count_correct", "evaluate_reader",
    "decode", "resolve_model", "stroke_width", "confusions", "random_lines", "char_correct",
    "degradation_curve", "DEGRADATIONS",
    "plot_layout", "plot_pages", "plot_steps", "plot_threshold", "plot_crops", "plot_reading", "text_bounds",
    "OCRImageError", "read_image", "MODELS", "find_sheet", "make_hard_pages", "evaluate_hard", "HARD_KINDS",
    # the steps the chapter shows, one function each
    "correct_light", "choose_threshold", "ink_mask", "connected_components", "letters_from_components",
    "estimate_skew", "group_lines", "word_spaces", "ink_amount", "crop_to_square", "fit_stroke_width", "frame_crop",
    "split_touching",
    # real photos with their true text
    "Photo", "TruthError", "find_photos", "read_truth", "score_lines", "score_photos", "total_score",
    "format_scores", "photo_table",
]
