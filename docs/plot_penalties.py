"""
Draw the trust-region penalties ``f(r)`` and their score multipliers ``g(r) = r f'(r)`` for the
docs (``docs/_static/penalties.png``), from the package's own functions.

``g`` is obtained with autograd as ``d f / d log r``, so the figure shows exactly what the
training loss differentiates.

    python docs/plot_penalties.py
"""

import os

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import torch as th

from sb3_gtr.common.penalties import gaussian_penalty, kl_penalty, pearson_penalty

OUTPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_static", "penalties.png")

CURVES = [
    ("Gaussian (GTR), $\\sigma = 0.5$", gaussian_penalty, 0.5, "tab:blue", "-"),
    ("Gaussian (GTR), $\\sigma = 1.0$", gaussian_penalty, 1.0, "tab:cyan", "-"),
    ("Pearson $\\chi^2$ (SPO)", pearson_penalty, None, "tab:orange", "--"),
    ("inverse KL", kl_penalty, None, "tab:green", ":"),
]


def penalty_and_multiplier(penalty_fn, ratio: th.Tensor, sigma) -> tuple[th.Tensor, th.Tensor]:
    """The penalty ``f(r)`` and its gradient with respect to ``log r``, i.e. ``g(r) = r f'(r)``."""
    log_ratio = th.log(ratio).requires_grad_(True)
    penalty = penalty_fn(log_ratio, sigma)
    (multiplier,) = th.autograd.grad(penalty.sum(), log_ratio)
    return penalty.detach(), multiplier


def main(output: str = OUTPUT) -> None:
    ratio = th.linspace(0.01, 3.0, 600, dtype=th.float64)
    fig, (ax_f, ax_g) = plt.subplots(1, 2, figsize=(11, 4.2))
    for label, penalty_fn, sigma, color, style in CURVES:
        penalty, multiplier = penalty_and_multiplier(penalty_fn, ratio, sigma)
        ax_f.plot(ratio, penalty, color=color, linestyle=style, linewidth=2, label=label)
        ax_g.plot(ratio, multiplier, color=color, linestyle=style, linewidth=2, label=label)

    ax_f.set(title="penalty $f(r)$", xlabel="ratio $r = \\pi_\\theta / \\pi_{ref}$", ylim=(0.0, 1.5))
    ax_g.set(title="score multiplier $g(r) = r\\,f'(r)$", xlabel="ratio $r = \\pi_\\theta / \\pi_{ref}$", ylim=(-0.6, 2.0))
    for ax in (ax_f, ax_g):
        ax.axvline(1.0, color="grey", linewidth=0.8)
        ax.axhline(0.0, color="grey", linewidth=0.8)
        ax.set_xlim(0.0, 3.0)
        ax.grid(alpha=0.3)
    ax_f.legend(loc="upper left")
    fig.tight_layout()
    os.makedirs(os.path.dirname(output), exist_ok=True)
    fig.savefig(output, dpi=120)
    plt.close(fig)
    print(f"Saved {output}")


if __name__ == "__main__":
    main()
