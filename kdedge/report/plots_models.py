"""Plots of the trained models: decision boundaries, the student's factors and gates,
precision–recall curves and teacher-vs-student predictions.

No torch: the test-split probabilities are those distill stored (predictions.npz), a decision
boundary is computed by the exported ONNX graph under onnxruntime (skipped, saying so, before
`kdedge export`), and the factors and gates are read from student.safetensors. A plot the run's
data cannot show (one feature, too few test rows, a class absent from the test split) raises
`PlotSkipped`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.colors import ListedColormap
from sklearn.metrics import confusion_matrix, precision_recall_curve
from sklearn.preprocessing import label_binarize

from kdedge import contract
from kdedge.report.collect import EXPORT_COMMAND
from kdedge.report.figure import PlotSkipped, class_colors, new_figure, require_rows

GRID = 200  # decision-boundary grid points per axis
PER_CLASS_CURVES = 5  # up to this many classes, one PR curve per class; beyond, micro-average
DARK_CELL = 0.6  # |value| above this share of the heatmap's range: RdBu_r is dark there


@dataclass
class Predictions:
    """Test-split class probabilities of the three trained models, [rows, C] each."""

    teacher: np.ndarray
    student: np.ndarray
    student_no_kd: np.ndarray


def predictions(facts) -> Predictions:
    """The probabilities distill scored on the stored test rows (predictions.npz)."""
    stored = facts.run.predictions()
    return Predictions(*(stored[name] for name in contract.MODEL_NAMES))


def onnx_probabilities(facts, name: str, X_raw: np.ndarray) -> np.ndarray:
    """Probabilities [rows, C] of model `name`'s exported fp32 graph on raw rows over all
    features; the graph takes raw values of its own inputs (it centres and scales them itself)."""
    import onnxruntime as ort

    from kdedge.runtime.models import session_options

    path = facts.run.path / contract.onnx_file(name)
    if facts.export is None or not path.is_file():
        raise PlotSkipped("needs_export", cmd=EXPORT_COMMAND.format(run=facts.run.path))
    session = ort.InferenceSession(str(path), sess_options=session_options(threads=1, opt_level="all"),
                                   providers=["CPUExecutionProvider"])
    rows = np.ascontiguousarray(X_raw[:, facts.run.input_index(name)], dtype=np.float32)
    (probabilities,) = session.run([contract.OUTPUT_NAMES[0]], {contract.INPUT_NAME: rows})
    return probabilities.astype(np.float64)


def positive_class(facts) -> tuple[int, str]:
    """Binary data: the positive class's probability column and name (metrics.json's
    data.positive_class, not whichever label sorts second)."""
    index = facts.positive_index
    index = 1 if index is None else index  # binary data always names one; kept for safety
    return index, facts.run.class_names[index]


def _boundary_features(facts) -> tuple[int, int]:
    """Columns of the two features varied: the top-2 selected; with k = 1 the selected one and
    the teacher's next most important feature."""
    if facts.n < 2:
        raise PlotSkipped("one_feature")
    selected = facts.run.preprocessing.selected_index
    if facts.k >= 2:
        return selected[0], selected[1]
    importance = facts.metrics.feature_importance
    ranked = np.argsort([-importance[f] for f in facts.run.feature_names])
    return selected[0], int(next(i for i in ranked if i != selected[0]))


def _span(facts, col: int) -> np.ndarray:
    """The test range of column `col` with a 5% margin; a feature constant on the test split (a
    blank picture) gets its training mean ± 2 standard deviations instead."""
    column = facts.run.split["X_test"][:, col]
    low, high = float(column.min()), float(column.max())
    if high - low < 1e-9:
        scaler = facts.run.preprocessing.scaler
        low, high = scaler.mean[col] - 2 * scaler.scale[col], scaler.mean[col] + 2 * scaler.scale[col]
    pad = 0.05 * (high - low)
    return np.linspace(low - pad, high + pad, GRID)


def _draw_regions(fig, ax, facts, gx: np.ndarray, gy: np.ndarray, proba: np.ndarray) -> None:
    """Binary: P(positive class) with the 0.5 contour; multi-class: one filled region per argmax
    class."""
    if facts.n_classes == 2:
        positive, name = positive_class(facts)
        surface = proba[:, positive].reshape(gx.shape)
        filled = ax.contourf(gx, gy, surface, levels=np.linspace(0, 1, 11), cmap="coolwarm", alpha=0.55)
        fig.colorbar(filled, ax=ax, label=f"P(class {name})")
        ax.contour(gx, gy, surface, levels=[0.5], colors="black", linewidths=1.2)
        return
    label = proba.argmax(axis=1).reshape(gx.shape)
    ax.contourf(gx, gy, label, levels=np.arange(facts.n_classes + 1) - 0.5,
                cmap=ListedColormap(class_colors(facts.n_classes)), alpha=0.35)
    ax.contour(gx, gy, label, levels=np.arange(facts.n_classes) + 0.5, colors="black", linewidths=0.8)


def _draw_test_rows(ax, facts, first: int, second: int) -> None:
    X_test, y_test = facts.run.split["X_test"], facts.run.split["y_test"]
    colors = class_colors(facts.n_classes)
    for c, class_name in enumerate(facts.run.class_names):
        mask = y_test == c
        if np.any(mask):
            ax.scatter(X_test[mask, first], X_test[mask, second], s=8, color=colors[c],
                       edgecolor="black", linewidth=0.2, label=f"class {class_name}")
    ax.legend(fontsize=7, loc="best", ncol=2 if facts.n_classes > 5 else 1)


def decision_boundary(facts, name: str):
    """Model `name`'s decision (its exported graph's) over two features on a GRID × GRID grid of
    their test range, every other feature at its training mean (0 after standardisation)."""
    first, second = _boundary_features(facts)
    gx, gy = np.meshgrid(_span(facts, first), _span(facts, second))
    grid = np.tile(facts.run.preprocessing.scaler.mean_array, (gx.size, 1))
    grid[:, first], grid[:, second] = gx.ravel(), gy.ravel()
    proba = onnx_probabilities(facts, name, grid)
    fig = new_figure(8, 6.5)
    ax = fig.add_subplot()
    _draw_regions(fig, ax, facts, gx, gy, proba)
    _draw_test_rows(ax, facts, first, second)
    names = facts.run.feature_names
    ax.set_xlabel(f"{names[first]} (raw)")
    ax.set_ylabel(f"{names[second]} (raw)")
    role = "Teacher" if name == "teacher" else "Student"
    ax.set_title(f"{role} decision boundary (its ONNX graph; other features at training mean); "
                 "dots: test rows", fontsize=10)
    return fig


def _student_factors(facts) -> tuple[np.ndarray, np.ndarray]:
    """The student's factor weights [rank, k] and gates sigmoid(gate_logits) [rank], read from
    student.safetensors (parameter names of `kdedge.models.Student`)."""
    weights = facts.run.weights("student")
    gates = 1.0 / (1.0 + np.exp(-weights["gate_logits"].astype(np.float64)))
    return weights["factors.weight"].astype(np.float64), gates


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
    if effective.size <= 200:  # white on the dark ends of the colour scale, black near 0
        for i in range(effective.shape[0]):
            for j in range(effective.shape[1]):
                dark = abs(effective[i, j]) > DARK_CELL * limit
                ax.text(j, i, f"{effective[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if dark else "black")
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
        positive, name = positive_class(facts)
        for label, proba, style in models:
            precision, recall, _ = precision_recall_curve(y == positive, proba[:, positive])
            ax.plot(recall, precision, style, label=label)
        ax.set_title(f"Precision-recall curve (positive class {name})")
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
    """Left: teacher vs student probability of the teacher's predicted class (binary: of the
    positive class); right: confusion of teacher labels against student labels."""
    teacher_label, student_label = preds.teacher.argmax(1), preds.student.argmax(1)
    fig = new_figure(12, 5.2)
    left, right = fig.subplots(1, 2)
    if facts.n_classes == 2:
        positive, name = positive_class(facts)
        tp, sp, what = preds.teacher[:, positive], preds.student[:, positive], f"P(class {name})"
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
