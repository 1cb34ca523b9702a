"""helpers.checks.pytorch: each check passes on the book's functions and on a reader's plain answer, and
fails with a message that teaches on plausible wrong versions."""
import functools

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers import checks
from helpers import torch_models as tm
from helpers.checks import CheckFailed


def as_answer(f):
    """The book's function handed in as a reader's answer (a check refuses the book's own function object)."""
    @functools.wraps(f)
    def answer(*args, **kwargs):
        return f(*args, **kwargs)
    return answer


CHECKS = {"check_small_cnn": tm.SmallCNN, "check_torch_train_step": tm.train_step,
          "check_torch_train_epoch": tm.train_epoch, "check_replace_head": tm.replace_head}


def test_every_check_is_exported():
    assert set(checks.pytorch.__all__) == set(CHECKS)
    assert all(hasattr(checks, name) for name in CHECKS)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_passes_on_the_book_reference(name, capsys):
    getattr(checks, name)(as_answer(CHECKS[name]))
    out = capsys.readouterr().out
    assert out.startswith("\u2714 ") and out.count("\n") == 1


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_a_stub_is_not_written_yet(name):
    fn_name = CHECKS[name].__name__

    def stub(*args, **kwargs):
        raise NotImplementedError()
    stub.__name__ = fn_name
    with pytest.raises(CheckFailed, match=f"{fn_name} is not written yet"):
        getattr(checks, name)(stub)


# ---------------------------------------------------------------------------------------------
# SmallCNN: the reader's nn.Module
# ---------------------------------------------------------------------------------------------
class SmallCNN(nn.Module):
    def __init__(self, n_classes=36):
        super().__init__()
        self.preprocess = tm.Normalize([0.0], [0.3], invert=True)
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.25), nn.Linear(1024, 64), nn.ReLU(),
                                        nn.Linear(64, n_classes))

    def forward(self, x):
        return self.classifier(self.features(self.preprocess(x)))


def test_small_cnn_plain_answer_passes(capsys):
    checks.check_small_cnn(SmallCNN)
    assert "91,348 for 36 classes" in capsys.readouterr().out


def _cnn_changed(change):
    """SmallCNN above with ``change(model)`` applied after __init__ (a layer swapped for another)."""
    class Changed(SmallCNN):
        def __init__(self, n_classes=36):
            super().__init__(n_classes)
            change(self, n_classes)
    return Changed


def _set(attr, index, layer):
    return lambda m, n: getattr(m, attr).__setitem__(index, layer if isinstance(layer, nn.Module) else layer(n))


@pytest.mark.parametrize("wrong, message", [
    (_cnn_changed(lambda m, n: setattr(m, "preprocess", nn.Identity())), "went in as they are"),
    (_cnn_changed(lambda m, n: [m.features.__setitem__(i, nn.AvgPool2d(2)) for i in (3, 7, 11)]), "average-pool"),
    (_cnn_changed(_set("classifier", 3, nn.Identity())), "no ReLU after it"),
    (_cnn_changed(_set("classifier", 1, nn.Dropout(0.5))), "dropout probability is 0.5"),
    (_cnn_changed(_set("classifier", 1, nn.Identity())), "there is no Dropout"),
    (_cnn_changed(_set("classifier", 4, lambda n: nn.Linear(64, 36))), "number of classes is written in"),
    (_cnn_changed(_set("features", 0, nn.Conv2d(1, 16, 3, padding=1))), "convolutions have a bias"),
    (_cnn_changed(_set("features", 0, nn.Conv2d(1, 16, 3, padding=1, bias=False, stride=2))), "forward pass"),
])
def test_small_cnn_mistakes_are_named(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_small_cnn(wrong)


def test_small_cnn_refuses_the_book_class():
    with pytest.raises(CheckFailed, match="book's own tm.SmallCNN"):
        checks.check_small_cnn(tm.SmallCNN)


# ---------------------------------------------------------------------------------------------
# the training step
# ---------------------------------------------------------------------------------------------
def train_step(model, x, y, optimizer):
    logits = model(x)
    loss = F.cross_entropy(logits, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item(), logits


def test_train_step_plain_answer_passes(capsys):
    checks.check_torch_train_step(train_step)
    assert "two SGD steps equal to the reference" in capsys.readouterr().out


def _step(order="zero_grad backward step", eval_after=False, returns="ok"):
    def train_step(model, x, y, optimizer):
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        for op in order.split():
            {"zero_grad": optimizer.zero_grad, "backward": loss.backward, "step": optimizer.step}[op]()
        if eval_after:
            model.eval()
        return {"ok": (loss.item(), logits), "tensor": (loss, logits), "after": (loss.item(), model(x))}[returns]
    return train_step


@pytest.mark.parametrize("wrong, message", [
    (_step("backward step"), "gradients were not cleared"),
    (_step("zero_grad step backward"), "weights never changed"),
    (_step(eval_after=True), "eval mode after the step"),
    (_step(returns="tensor"), "computation graph"),
    (_step(returns="after"), "recomputed after optimizer.step"),
])
def test_train_step_mistakes_are_named(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_torch_train_step(wrong)


# ---------------------------------------------------------------------------------------------
# the training loop: a reader's plain answer passes, the usual mistakes are named
# ---------------------------------------------------------------------------------------------
def train_epoch(model, batches, optimizer):
    model.train()
    total, correct, n = 0.0, 0, 0
    for x, y in batches:
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(y)
        correct += (logits.argmax(1) == y).sum().item()
        n += len(y)
    return total / n, correct / n


def test_train_epoch_plain_answer_passes(capsys):
    checks.check_torch_train_epoch(train_epoch)
    assert "follow the reference weights" in capsys.readouterr().out


def _loop(order="zero_grad backward step", train=True, returns="ok", stop_after=None):
    def train_epoch(model, batches, optimizer):
        if train:
            model.train()
        total, correct, n, losses = 0.0, 0, 0, []
        for i, (x, y) in enumerate(batches):
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            for op in order.split():
                {"zero_grad": optimizer.zero_grad, "backward": loss.backward, "step": optimizer.step}[op]()
            total = total + (loss if returns == "graph" else loss.item() * len(y))
            losses.append(loss.item())
            correct += int((logits.argmax(1) == y).sum())
            n += len(y)
            if stop_after is not None and i + 1 == stop_after:
                break
        if returns == "none":
            return None
        if returns == "mean_of_means":
            return sum(losses) / len(losses), correct / n
        if returns == "graph":
            return total, correct / n
        return total / n, correct / n
    return train_epoch


@pytest.mark.parametrize("wrong, message", [
    (_loop("backward step"), "gradients accumulate"),                          # forgot zero_grad
    (_loop("zero_grad step backward"), "weights never changed"),               # step before backward
    (_loop("step zero_grad backward"), r"step\(\) ran before loss.backward"),   # step before backward: autograd's error
    (_loop(train=False), "eval mode"),                                         # no model.train()
    (_loop(returns="graph"), "computation graph"),                             # loss returned as a tensor graph
    (_loop(returns="none"), "should return two numbers"),                      # nothing returned
    (_loop(returns="mean_of_means"), "mean of the batch means"),               # last batch smaller
    (_loop(stop_after=1), "only 1 of the 4 batches"),                          # return inside the loop
])
def test_train_epoch_mistakes_are_named(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_torch_train_epoch(wrong)


# ---------------------------------------------------------------------------------------------
# head replacement
# ---------------------------------------------------------------------------------------------
def replace_head(model, n_classes):
    conv = nn.Conv2d(512, n_classes, kernel_size=1)
    nn.init.normal_(conv.weight, std=0.01)
    nn.init.zeros_(conv.bias)
    model.classifier[1] = conv
    return model


def test_replace_head_plain_answer_passes(capsys):
    checks.check_replace_head(replace_head)
    assert "unchanged" in capsys.readouterr().out


def _keeps_36_outputs(model, n_classes):
    model.classifier[1] = nn.Conv2d(512, model.classifier[1].out_channels, kernel_size=1)
    return model


def _rebuilds_the_network(model, n_classes):
    return tm.squeezenet(n_classes)                         # a fresh network: the backbone is lost


def _reinitialises_everything(model, n_classes):
    replace_head(model, n_classes)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            m.reset_parameters()
    return model


def _frozen_head(model, n_classes):
    replace_head(model, n_classes)
    model.classifier[1].requires_grad_(False)
    return model


def _returns_the_layer(model, n_classes):
    return nn.Conv2d(512, n_classes, kernel_size=1)


@pytest.mark.parametrize("wrong, message", [
    (_keeps_36_outputs, r"shape \(2, 36\), expected \(2, 10\)"),
    (_rebuilds_the_network, "re-initialised or rebuilt"),
    (_reinitialises_everything, "re-initialised or rebuilt"),
    (_frozen_head, "new head is frozen"),
    (_returns_the_layer, "not the model"),
])
def test_replace_head_mistakes_are_named(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_replace_head(wrong)


def test_checks_are_quick():
    """Offline and small: both checks together build one SqueezeNet and a 200-weight network."""
    import time
    t0 = time.perf_counter()
    checks.check_torch_train_epoch(as_answer(tm.train_epoch))
    checks.check_replace_head(as_answer(tm.replace_head))
    checks.check_small_cnn(as_answer(tm.SmallCNN))
    checks.check_torch_train_step(as_answer(tm.train_step))
    assert time.perf_counter() - t0 < 30   # generous: a busy shared machine; typically well under a second
