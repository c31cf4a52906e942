"""Plots of the trained models: decision boundaries, the student's factors and gates,
precision–recall curves and teacher-vs-student predictions. Uses the torch models of the run.
A plot the run's data cannot show (one feature, too few test rows, a class absent from the test
split) raises `PlotSkipped`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from matplotlib.colors import ListedColormap
from sklearn.metrics import confusion_matrix, precision_recall_curve
from sklearn.preprocessing import label_binarize

from kdedge.report.figure import PlotSkipped, class_colors, new_figure, require_rows

GRID = 200  # decision-boundary grid points per axis
PER_CLASS_CURVES = 5  # up to this many classes, one PR curve per class; beyond, micro-average


@dataclass
class Predictions:
    """Test-split class probabilities of the three torch models, [rows, C] each."""

    teacher: np.ndarray
    student: np.ndarray
    student_no_kd: np.ndarray


def predict_proba(facts, name: str, X_raw: np.ndarray) -> np.ndarray:
    """Probabilities of model `name` on raw rows over all features (scaled as it was trained)."""
    mean, scale = facts.run.scaler(name)
    X = (np.asarray(X_raw, dtype=np.float64)[:, facts.run.input_index(name)] - mean) / scale
    model = facts.run.load_model(name)
    with torch.no_grad():
        logits = model(torch.as_tensor(X, dtype=torch.float32))
    return torch.softmax(logits, dim=1).numpy().astype(np.float64)


def predictions(facts) -> Predictions:
    X = facts.run.split["X_test"]
    return Predictions(*(predict_proba(facts, name, X)
                         for name in ("teacher", "student", "student_no_kd")))


def decision_boundary(facts, name: str):
    """Model `name`'s decision over the top-2 selected features; every other feature at its
    training mean (0 after standardisation), the two varied over their test range."""
    split = facts.run.split
    names = facts.run.feature_names
    if facts.n < 2:
        raise PlotSkipped("one_feature")
    first, second = facts.run.preprocessing["selected_index"][:2] if facts.k >= 2 else (
        facts.run.preprocessing["selected_index"][0], None)
    if second is None:  # k = 1: vary the top feature against the teacher's next most important
        second = next(i for i in np.argsort([-facts.metrics["feature_importance"][f] for f in names])
                      if i != first)
    X_test, y_test = split["X_test"], split["y_test"]
    scaler = facts.run.preprocessing["scaler"]
    mean = np.asarray(scaler["mean"], dtype=np.float64)

    def span(col: int) -> np.ndarray:
        """The test range with a 5% margin; a feature constant on the test split (a blank pixel)
        gets its training mean ± 2 standard deviations instead."""
        low, high = float(X_test[:, col].min()), float(X_test[:, col].max())
        if high - low < 1e-9:
            low, high = mean[col] - 2 * scaler["scale"][col], mean[col] + 2 * scaler["scale"][col]
        pad = 0.05 * (high - low)
        return np.linspace(low - pad, high + pad, GRID)

    gx, gy = np.meshgrid(span(first), span(second))
    grid = np.tile(mean, (gx.size, 1))
    grid[:, first], grid[:, second] = gx.ravel(), gy.ravel()
    proba = predict_proba(facts, name, grid)
    colors = class_colors(facts.n_classes)
    fig = new_figure(8, 6.5)
    ax = fig.add_subplot()
    if facts.n_classes == 2:
        surface = ax.contourf(gx, gy, proba[:, 1].reshape(gx.shape), levels=np.linspace(0, 1, 11),
                              cmap="coolwarm", alpha=0.55)
        fig.colorbar(surface, ax=ax, label=f"P(class {facts.run.class_names[1]})")
        ax.contour(gx, gy, proba[:, 1].reshape(gx.shape), levels=[0.5], colors="black", linewidths=1.2)
    else:
        label = proba.argmax(axis=1).reshape(gx.shape)
        ax.contourf(gx, gy, label, levels=np.arange(facts.n_classes + 1) - 0.5,
                    cmap=ListedColormap(colors), alpha=0.35)
        ax.contour(gx, gy, label, levels=np.arange(facts.n_classes) + 0.5, colors="black",
                   linewidths=0.8)
    for c, class_name in enumerate(facts.run.class_names):
        mask = y_test == c
        if np.any(mask):
            ax.scatter(X_test[mask, first], X_test[mask, second], s=8, color=colors[c],
                       edgecolor="black", linewidth=0.2, label=f"class {class_name}")
    ax.legend(fontsize=7, loc="best", ncol=2 if facts.n_classes > 5 else 1)
    ax.set_xlabel(f"{names[first]} (raw)")
    ax.set_ylabel(f"{names[second]} (raw)")
    role = "Teacher" if name == "teacher" else "Student"
    ax.set_title(f"{role} decision boundary (other features at training mean); dots: test rows")
    return fig


def _student_factors(facts) -> tuple[np.ndarray, np.ndarray]:
    student = facts.run.load_model("student")
    with torch.no_grad():
        weights = student.factors.weight.numpy().astype(np.float64)  # [rank, k]
        gates = student.gates().numpy().astype(np.float64)  # [rank]
    return weights, gates


def factor_feature_heatmap(facts):
    weights, gates = _student_factors(facts)
    effective = weights * gates[:, None]
    features = facts.run.selected_features
    fig = new_figure(max(6.0, 0.7 * len(features) + 3), max(3.5, 0.45 * len(gates) + 2))
    ax = fig.add_subplot()
    limit = float(np.abs(effective).max()) or 1.0
    image = ax.imshow(effective, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    fig.colorbar(image, ax=ax, label="weight × gate")
    ax.set_xticks(range(len(features)), features, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(gates)), [f"factor {i} (gate {g:.2f})" for i, g in enumerate(gates)],
                  fontsize=8)
    if effective.size <= 200:
        for i in range(effective.shape[0]):
            for j in range(effective.shape[1]):
                ax.text(j, i, f"{effective[i, j]:.2f}", ha="center", va="center", fontsize=7)
    ax.set_title("Student factor-feature weights (factor weight × gate)")
    return fig


def factor_gates(facts):
    _, gates = _student_factors(facts)
    fig = new_figure(max(6.0, 0.6 * len(gates) + 3), 4.5)
    ax = fig.add_subplot()
    bars = ax.bar([f"factor {i}" for i in range(len(gates))], gates, color="tab:purple")
    ax.bar_label(bars, fmt="%.3f", fontsize=8)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("Gate sigmoid(g)")
    ax.set_title("Student factor gates (0 = closed, 1 = open)")
    ax.grid(axis="y", alpha=0.3)
    return fig


def _require_classes_present(facts, y: np.ndarray) -> None:
    """A per-class curve needs positives and negatives of that class in the test split."""
    absent = [name for c, name in enumerate(facts.run.class_names) if not np.any(y == c)]
    if absent:
        raise PlotSkipped("class_absent", classes=", ".join(str(a) for a in absent))


def precision_recall(facts, preds: Predictions):
    y = facts.run.split["y_test"]
    require_rows(len(y), "test")
    if facts.n_classes <= PER_CLASS_CURVES:  # the micro-average is defined with a class absent
        _require_classes_present(facts, y)
    fig = new_figure(8, 6)
    ax = fig.add_subplot()
    models = (("Teacher", preds.teacher, "-"), ("Student (KD)", preds.student, "--"))
    if facts.n_classes == 2:
        for label, proba, style in models:
            precision, recall, _ = precision_recall_curve(y, proba[:, 1])
            ax.plot(recall, precision, style, label=label)
        ax.set_title(f"Precision-recall curve (positive class {facts.run.class_names[1]})")
    elif facts.n_classes <= PER_CLASS_CURVES:
        colors = class_colors(facts.n_classes)
        for c, class_name in enumerate(facts.run.class_names):
            for label, proba, style in models:
                precision, recall, _ = precision_recall_curve(y == c, proba[:, c])
                ax.plot(recall, precision, style, color=colors[c], label=f"{label}, class {class_name}")
        ax.set_title("Precision-recall curves, one-vs-rest per class (solid: teacher, dashed: student)")
    else:
        onehot = label_binarize(y, classes=np.arange(facts.n_classes))
        for label, proba, style in models:
            precision, recall, _ = precision_recall_curve(onehot.ravel(), proba.ravel())
            ax.plot(recall, precision, style, label=label)
        ax.set_title(f"Precision-recall curve, micro-average over {facts.n_classes} classes (one-vs-rest)")
    ax.set_xlabel("Recall")
    ax.set_ylabel("Precision")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7, loc="lower left")
    ax.grid(alpha=0.3)
    return fig


def prediction_comparison(facts, preds: Predictions):
    """Left: teacher vs student probability of the teacher's predicted class (binary: of class 1);
    right: confusion of teacher labels against student labels."""
    teacher_label, student_label = preds.teacher.argmax(1), preds.student.argmax(1)
    fig = new_figure(12, 5.2)
    left, right = fig.subplots(1, 2)
    if facts.n_classes == 2:
        tp, sp, what = preds.teacher[:, 1], preds.student[:, 1], f"P(class {facts.run.class_names[1]})"
    else:
        rows = np.arange(len(teacher_label))
        tp, sp = preds.teacher[rows, teacher_label], preds.student[rows, teacher_label]
        what = "P(teacher's predicted class)"
    same = teacher_label == student_label
    left.scatter(tp[same], sp[same], s=8, alpha=0.5, color="tab:blue", label="same label")
    left.scatter(tp[~same], sp[~same], s=18, color="tab:red", marker="x", label="different label")
    left.plot([0, 1], [0, 1], color="gray", linestyle=":")
    left.set_xlabel(f"Teacher {what}")
    left.set_ylabel(f"Student {what}")
    left.set_title(f"Predicted probabilities (agreement {same.mean():.4f})")
    left.legend(fontsize=8)
    left.grid(alpha=0.3)
    labels = np.arange(facts.n_classes)
    matrix = confusion_matrix(teacher_label, student_label, labels=labels)
    right.imshow(matrix, cmap="Blues")
    ticks = facts.run.class_names
    right.set_xticks(labels, ticks, fontsize=8)
    right.set_yticks(labels, ticks, fontsize=8)
    if facts.n_classes <= 12:
        for i in labels:
            for j in labels:
                right.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=8,
                           color="white" if matrix[i, j] > matrix.max() / 2 else "black")
    right.set_xlabel("Student label")
    right.set_ylabel("Teacher label")
    right.set_title("Teacher vs student labels (test split)")
    return fig
