"""Paints scenes into image tensors with torch, a whole batch at once, on any device.

Shapes are exact geometric masks (supersampled for smooth edges); the same masks are the canonical shapes
the evaluator compares generated pictures with.
"""

from __future__ import annotations

import math
import random

import torch
import torch.nn.functional as F

from training.scenes import Scene
from training.vocabulary import COLOURS, SCENES, SIZES

STAR_INNER_RATIO = 0.42
_SECTOR = 2 * math.pi / 5


def shape_mask(shape: str, dx: torch.Tensor, dy: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """True where offset (dx, dy) from the centre (y pointing down) lies inside `shape` of half-extent r."""
    if shape == "circle":
        return dx**2 + dy**2 <= r**2
    if shape == "square":
        return torch.maximum(dx.abs(), dy.abs()) <= r * 0.86
    if shape == "diamond":
        return dx.abs() + dy.abs() <= r * 1.18
    if shape == "triangle":  # apex up at -r, flat base at +0.8 r
        return (dy <= 0.8 * r) & (dx.abs() * 1.8 <= dy + r) & (dy >= -r)
    if shape == "star":  # five points, one straight up
        radius = torch.sqrt(dx**2 + dy**2)
        angle = torch.remainder(torch.atan2(dx, -dy), _SECTOR)
        angle = torch.where(angle > _SECTOR / 2, _SECTOR - angle, angle)
        inner = STAR_INNER_RATIO * r
        half = _SECTOR / 2
        edge = (r * inner * math.sin(half)) / (r * torch.sin(angle) + inner * torch.sin(half - angle))
        return radius <= edge * 1.05
    if shape == "heart":
        x = dx / (r * 0.92)
        y = -(dy / (r * 0.92)) + 0.1
        return (x**2 + y**2 - 1) ** 3 - x**2 * y**3 <= 0
    raise ValueError(f"unknown shape {shape!r}")


def _colour(name: str, device: torch.device) -> torch.Tensor:
    return torch.tensor(COLOURS[name], dtype=torch.float32, device=device) / 255.0


def render_backgrounds(scenes: list[Scene], height: int, width: int, device: torch.device) -> torch.Tensor:
    """The backgrounds alone, (B, 3, H, W) in [0, 1]."""
    rows = torch.linspace(0.0, 1.0, height, device=device).view(1, 1, height, 1)
    tops, bottoms = [], []
    for scene in scenes:
        if scene.background in SCENES:
            top_rgb, bottom_rgb = SCENES[scene.background]
            tops.append(torch.tensor(top_rgb, dtype=torch.float32) / 255.0)
            bottoms.append(torch.tensor(bottom_rgb, dtype=torch.float32) / 255.0)
        else:
            colour = torch.tensor(COLOURS[scene.background], dtype=torch.float32) / 255.0
            tops.append(colour)
            bottoms.append(colour)
    top = torch.stack(tops).to(device).view(-1, 3, 1, 1)
    bottom = torch.stack(bottoms).to(device).view(-1, 3, 1, 1)
    images = (top + (bottom - top) * rows).expand(-1, -1, height, width).clone()
    for index, scene in enumerate(scenes):
        if scene.background == "night":
            _paint_stars(images[index], scene.star_seed)
    return images


def _paint_stars(image: torch.Tensor, seed: int) -> None:
    """Small white dots, where `seed` says, painted in one indexed write."""
    rng = random.Random(seed)
    _, height, width = image.shape
    ys, xs, values = [], [], []
    for _ in range(max(8, height * width // 2500)):
        y, x = rng.randrange(height - 1), rng.randrange(width - 1)
        brightness = rng.uniform(0.75, 1.0)
        extent = 2 if rng.random() < 0.3 else 1
        for dy in range(extent):
            for dx in range(extent):
                ys.append(y + dy)
                xs.append(x + dx)
                values.append(brightness)
    rows = torch.tensor(ys, device=image.device)
    columns = torch.tensor(xs, device=image.device)
    lights = torch.tensor(values, device=image.device, dtype=image.dtype)
    for channel in range(3):
        image[channel].index_put_((rows, columns), lights)


def object_geometry(scene: Scene, height: int, width: int) -> list[tuple[str, float, float, float]]:
    """Each object's (shape, centre x, centre y, half-extent) in pixels."""
    short_side = min(height, width)
    return [
        (obj.shape, obj.centre[0] * width, obj.centre[1] * height, SIZES[obj.size] * obj.scale * short_side)
        for obj in scene.objects
    ]


def render(
    scenes: list[Scene], height: int, width: int, device: torch.device | str = "cpu", supersample: int = 2
) -> torch.Tensor:
    """Paint `scenes` at height x width: a float tensor (B, 3, H, W) in [0, 1]."""
    device = torch.device(device)
    big_h, big_w = height * supersample, width * supersample
    images = render_backgrounds(scenes, big_h, big_w, device)
    ys = (torch.arange(big_h, device=device, dtype=torch.float32) + 0.5) / supersample
    xs = (torch.arange(big_w, device=device, dtype=torch.float32) + 0.5) / supersample
    for index, scene in enumerate(scenes):
        for obj, (shape, cx, cy, r) in zip(scene.objects, object_geometry(scene, height, width)):
            dy = (ys - cy).view(-1, 1)
            dx = (xs - cx).view(1, -1)
            mask = shape_mask(shape, dx, dy, torch.tensor(r, device=device))
            # torch.where, not a masked write: that would wait for the GPU to count the mask's pixels.
            images[index] = torch.where(mask, _colour(obj.colour, device).view(3, 1, 1), images[index])
    if supersample > 1:
        images = F.avg_pool2d(images, supersample)
    return images.clamp(0.0, 1.0)
