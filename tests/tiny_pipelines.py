"""Tiny random-weight diffusers pipelines for tests, built offline and saved with `save_pretrained`.

Sizes follow diffusers' own fast tests (`get_dummy_components`); the CLIP tokenizer is built from a small
vocabulary written here, so nothing is downloaded.
"""

from __future__ import annotations

import string
from pathlib import Path

import torch
from diffusers import (
    AutoencoderKL,
    DDIMScheduler,
    EulerDiscreteScheduler,
    FlowMatchEulerDiscreteScheduler,
    SD3Transformer2DModel,
    StableDiffusion3Pipeline,
    StableDiffusionPipeline,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer


def tiny_tokenizer() -> CLIPTokenizer:
    """A CLIP BPE tokenizer over single characters: every text tokenizes, offline."""
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for char in string.ascii_lowercase + string.digits + ",.!?-'":
        vocab[char] = len(vocab)
        vocab[char + "</w>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def _clip_config(hidden_size: int = 32, projection_dim: int = 32) -> CLIPTextConfig:
    return CLIPTextConfig(
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=1,
        hidden_size=hidden_size,
        intermediate_size=37,
        layer_norm_eps=1e-05,
        num_attention_heads=4,
        num_hidden_layers=2,
        vocab_size=200,
        projection_dim=projection_dim,
        hidden_act="gelu",
    )


def _vae(latent_channels: int = 4) -> AutoencoderKL:
    torch.manual_seed(0)
    return AutoencoderKL(
        block_out_channels=[4, 8],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"],
        latent_channels=latent_channels,
        norm_num_groups=2,
        sample_size=64,
    )


def build_sd15(folder: Path) -> Path:
    """A Stable Diffusion 1.x-layout pipeline (UNet, one CLIP text encoder, DDIM) at 64x64."""
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(4, 8),
        layers_per_block=1,
        sample_size=32,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        norm_num_groups=2,
    )
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False)
    torch.manual_seed(0)
    text_encoder = CLIPTextModel(_clip_config())
    pipeline = StableDiffusionPipeline(
        unet=unet,
        scheduler=scheduler,
        vae=_vae(),
        text_encoder=text_encoder,
        tokenizer=tiny_tokenizer(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipeline.save_pretrained(folder)
    return folder


def build_sdxl(folder: Path) -> Path:
    """An SDXL-layout pipeline: two text encoders (the second with a projection), added time ids."""
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(4, 8),
        layers_per_block=1,
        sample_size=32,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        transformer_layers_per_block=(1, 2),
        projection_class_embeddings_input_dim=80,
        cross_attention_dim=64,
        norm_num_groups=1,
    )
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        steps_offset=1,
        beta_schedule="scaled_linear",
        timestep_spacing="leading",
    )
    torch.manual_seed(0)
    text_encoder = CLIPTextModel(_clip_config())
    text_encoder_2 = CLIPTextModelWithProjection(_clip_config())
    pipeline = StableDiffusionXLPipeline(
        unet=unet,
        scheduler=scheduler,
        vae=_vae(),
        text_encoder=text_encoder,
        tokenizer=tiny_tokenizer(),
        text_encoder_2=text_encoder_2,
        tokenizer_2=tiny_tokenizer(),
    )
    pipeline.save_pretrained(folder)
    return folder


def build_sd3(folder: Path) -> Path:
    """A Stable Diffusion 3-layout pipeline: an MM-DiT transformer, flow matching, two CLIP encoders, no T5."""
    torch.manual_seed(0)
    transformer = SD3Transformer2DModel(
        sample_size=32,
        patch_size=1,
        in_channels=4,
        num_layers=1,
        attention_head_dim=8,
        num_attention_heads=4,
        caption_projection_dim=32,
        joint_attention_dim=64,
        pooled_projection_dim=64,
        out_channels=4,
    )
    torch.manual_seed(0)
    text_encoder = CLIPTextModelWithProjection(_clip_config())
    text_encoder_2 = CLIPTextModelWithProjection(_clip_config())
    vae = AutoencoderKL(
        sample_size=32,
        in_channels=3,
        out_channels=3,
        block_out_channels=(4,),
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=1,
        use_quant_conv=False,
        use_post_quant_conv=False,
        shift_factor=0.0609,
        scaling_factor=1.5035,
    )
    pipeline = StableDiffusion3Pipeline(
        transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tiny_tokenizer(),
        text_encoder_2=text_encoder_2,
        tokenizer_2=tiny_tokenizer(),
        text_encoder_3=None,
        tokenizer_3=None,
    )
    pipeline.save_pretrained(folder)
    return folder
