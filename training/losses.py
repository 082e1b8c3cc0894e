"""GAN losses as pure functions of discriminator logits, each next to its formula.

D(x) = sigmoid(logit). ``real`` / ``fake`` are D's logits on data and on G(z). Every function
returns a scalar to minimise.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


# Algorithm 1 (Goodfellow et al. 2014): D ascends V = E[log D(x)] + E[log(1 - D(G(z)))].
def minimax_d(real: torch.Tensor, fake: torch.Tensor, *, smooth: float = 0.0) -> torch.Tensor:
    # L_D = -E[log D(x)] - E[log(1 - D(G(z)))]   (one-sided smoothing: target 1 - smooth for real)
    return _bce(real, 1.0 - smooth) + _bce(fake, 0.0)


def minimax_g(fake: torch.Tensor) -> torch.Tensor:
    # L_G = E[log(1 - D(G(z)))] = -softplus(logit): saturates when D rejects G(z) confidently
    return -F.softplus(fake).mean()


nonsaturating_d = minimax_d


def nonsaturating_g(fake: torch.Tensor) -> torch.Tensor:
    # L_G = -E[log D(G(z))] = E[softplus(-logit)]
    return F.softplus(-fake).mean()


def hinge_d(real: torch.Tensor, fake: torch.Tensor, *, smooth: float = 0.0) -> torch.Tensor:
    # L_D = E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]   (D = raw logit)
    return F.relu(1.0 - smooth - real).mean() + F.relu(1.0 + fake).mean()


def hinge_g(fake: torch.Tensor) -> torch.Tensor:
    # L_G = -E[D(G(z))]
    return -fake.mean()


def wgan_d(real: torch.Tensor, fake: torch.Tensor, *, smooth: float = 0.0) -> torch.Tensor:
    # L_D = E[D(G(z))] - E[D(x)]   (critic; add gradient_penalty for WGAN-GP)
    return fake.mean() - real.mean()


wgan_g = hinge_g  # L_G = -E[D(G(z))]


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, labels=None, *, eps: torch.Tensor | None = None,
                     generator=None) -> torch.Tensor:
    # GP = E[(||grad_xhat D(xhat)||_2 - 1)^2],  xhat = eps x + (1 - eps) G(z)   (Gulrajani et al. 2017)
    # eps ~ U(0, 1) per image, (B, 1, 1, 1): given, or drawn from generator
    if eps is None:
        eps = torch.rand(real.shape[0], 1, 1, 1, device=real.device, dtype=real.dtype, generator=generator)
    xhat = (eps * real + (1 - eps) * fake.detach()).requires_grad_(True)
    out = critic(xhat, labels)
    (grad,) = torch.autograd.grad(out.sum(), xhat, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()


def r1_penalty(real_logits: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    # R1 = E[||grad_x D(x)||^2] on data (Mescheder et al. 2018); real must require grad
    (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
    return grad.flatten(1).pow(2).sum(1).mean()


def class_entropy_g(class_logits: torch.Tensor) -> torch.Tensor:
    # L = E_z[H(p(y|G(z)))] - H(E_z[p(y|G(z))])   (CatGAN, Springenberg 2015): each sample clearly one
    # class, all classes used evenly; p(y|x) from D's class head, trained on real labels only
    logp = class_logits.float().log_softmax(dim=1)                      # (B, K)
    p = logp.exp()
    marginal = p.mean(dim=0)                                            # (K,)
    return -(p * logp).sum(dim=1).mean() + (marginal * marginal.clamp_min(1e-12).log()).sum()


LOSSES = {
    "minimax": (minimax_d, minimax_g),
    "nonsaturating": (nonsaturating_d, nonsaturating_g),
    "hinge": (hinge_d, hinge_g),
    "wgan-gp": (wgan_d, wgan_g),
}
