"""The embedded model's parts, in the Stable Diffusion pipeline layout: tokenizer, text encoder, VAE, UNet,
scheduler. Sizes are chosen so that one 256x256 picture takes about a second on a 2-core CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers import (
    AutoencoderTiny,
    DDIMScheduler,
    DDPMScheduler,
    UNet2DConditionModel,
)
from diffusers.models.transformers.transformer_2d import Transformer2DModel
from diffusers.models.unets.unet_2d_blocks import AutoencoderTinyBlock
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from training.vocabulary import tokenizer_words

MAX_TOKENS = 32


@dataclass(frozen=True)
class Architecture:
    """Widths and depths of the trainable parts; `tiny` is for tests of the trainer."""

    text_width: int = 128
    text_layers: int = 4
    vae_width: int = 32
    #: The VAE's levels: each after the first halves the picture (5: a 256x256 picture is a 16x16 latent).
    vae_levels: int = 5
    #: The decoder's width and its residual blocks per level, from the latent's size up (None: the VAE's
    #: width; two blocks at the latent's size, one at each level above; in a continuation, the saved ones).
    decoder_width: int | None = None
    decoder_blocks: tuple[int, ...] | None = None
    latent_channels: int = 8
    unet_channels: tuple[int, ...] = (64, 128, 192)
    unet_layers_per_block: int = 1
    attention_heads: int = 8
    #: Cross-attention to the prompt at the latent's full size too, where a shape is drawn, not only at the
    #: 8x8 and 4x4 levels below it.
    attention_at_full_size: bool = True

    @classmethod
    def tiny(cls) -> Architecture:
        return cls(text_width=32, text_layers=1, vae_width=8, unet_channels=(32, 32, 32), attention_heads=2)

    @property
    def vae_downscale(self) -> int:
        """How many pixels one latent cell stands for, across and down."""
        return 2 ** (self.vae_levels - 1)


def build_tokenizer() -> CLIPTokenizer:
    """A CLIP BPE tokenizer whose merges spell the vocabulary's words whole; other words fall into letters."""
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for char in "abcdefghijklmnopqrstuvwxyz0123456789,.!?:;-'\"()&/":
        vocab.setdefault(char, len(vocab))
        vocab.setdefault(char + "</w>", len(vocab))
    merges: list[tuple[str, str]] = []
    # Add the merge of a word's first two pieces until every word is one token; a merge added later has
    # lower priority, so it never breaks a word that already comes out whole.
    pending = tokenizer_words()
    while pending:
        tokenizer = CLIPTokenizer(vocab=dict(vocab), merges=list(merges), model_max_length=MAX_TOKENS)
        still = []
        for word in pending:
            pieces = tokenizer.tokenize(word)
            if len(pieces) > 1:
                merges.append((pieces[0], pieces[1]))
                vocab.setdefault(pieces[0] + pieces[1], len(vocab))
                still.append(word)
        pending = still
    return tokenizer


def build_text_encoder(architecture: Architecture, vocab_size: int) -> CLIPTextModel:
    config = CLIPTextConfig(
        vocab_size=vocab_size,
        hidden_size=architecture.text_width,
        intermediate_size=architecture.text_width * 4,
        num_hidden_layers=architecture.text_layers,
        num_attention_heads=max(1, architecture.text_width // 32),
        max_position_embeddings=MAX_TOKENS,
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=1,
        projection_dim=architecture.text_width,
        hidden_act="gelu",
    )
    return CLIPTextModel(config)


def build_vae(architecture: Architecture) -> AutoencoderTiny:
    """A norm-free convolutional autoencoder (the TAESD layout): with no normalisation a flat colour goes
    through unchanged."""
    levels = architecture.vae_levels
    vae = AutoencoderTiny(
        in_channels=3,
        out_channels=3,
        latent_channels=architecture.latent_channels,
        encoder_block_out_channels=(architecture.vae_width,) * levels,
        decoder_block_out_channels=(architecture.decoder_width or architecture.vae_width,) * levels,
        # No block at full size in the encoder (a third cheaper to train), two at the latent's size in the decoder.
        num_encoder_blocks=(0,) + (1,) * (levels - 1),
        num_decoder_blocks=architecture.decoder_blocks or (2,) + (1,) * (levels - 1),
    )
    _initialise_for_relu(vae)
    return vae


def _initialise_for_relu(vae: AutoencoderTiny) -> None:
    """He initialisation, and each residual block starting as the identity: with PyTorch's default
    initialisation the signal fades through twenty unnormalised layers and the autoencoder learns slowly."""
    for module in vae.modules():
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
    for module in vae.modules():
        if isinstance(module, AutoencoderTinyBlock):
            torch.nn.init.zeros_(module.conv[-1].weight)


def grow_decoder(saved: AutoencoderTiny, architecture: Architecture) -> AutoencoderTiny:
    """A VAE with `saved`'s encoder and the wider or deeper decoder of `architecture`, drawing exactly what
    `saved` drew: each convolution keeps its weights in the first channels; the new channels get fresh
    weights in but none out to the old ones (so gradients reach them and they can learn to help), and each
    new block goes after a level's old ones, starting as the identity. `saved` itself when nothing grows."""
    grown = build_vae(architecture)
    if _weight_shapes(grown.decoder) == _weight_shapes(saved.decoder):
        return saved
    refusal = f"cannot grow this VAE's decoder into {architecture}: only wider or more blocks can be grown"
    try:
        grown.encoder.load_state_dict(saved.encoder.state_dict())
    except RuntimeError as error:
        raise ValueError(refusal) from error
    grown.register_to_config(scaling_factor=saved.config.scaling_factor)
    old_layers, new_layers = list(saved.decoder.layers), list(grown.decoder.layers)
    index = 0
    for layer in new_layers:
        old = old_layers[index] if index < len(old_layers) else None
        if isinstance(layer, AutoencoderTinyBlock) and not isinstance(old, AutoencoderTinyBlock):
            continue  # a new block: the identity (its last convolution starts at zero), its input being >= 0
        if old is None or type(layer) is not type(old):
            raise ValueError(refusal)
        old_convolutions = [m for m in old.modules() if isinstance(m, torch.nn.Conv2d)]
        new_convolutions = [m for m in layer.modules() if isinstance(m, torch.nn.Conv2d)]
        for old_convolution, new_convolution in zip(old_convolutions, new_convolutions, strict=True):
            _widen_convolution(old_convolution, new_convolution, refusal)
        index += 1
    if index != len(old_layers):
        raise ValueError(refusal)
    return grown


def _weight_shapes(module: torch.nn.Module) -> dict[str, torch.Size]:
    return {name: weight.shape for name, weight in module.state_dict().items()}


@torch.no_grad()
def _widen_convolution(old: torch.nn.Conv2d, new: torch.nn.Conv2d, refusal: str) -> None:
    """Copy `old` into the first channels of the wider `new`; zero what flows from new channels to old."""
    out_old, in_old = old.weight.shape[:2]
    if new.weight.shape[0] < out_old or new.weight.shape[1] < in_old:
        raise ValueError(refusal)
    new.weight[:out_old, :in_old] = old.weight
    new.weight[:out_old, in_old:] = 0.0
    if old.bias is not None and new.bias is not None:
        new.bias[:out_old] = old.bias


def build_unet(architecture: Architecture) -> UNet2DConditionModel:
    """Cross-attention to the prompt at 8x8 and 4x4 (and at the latent's full 16x16 unless the architecture
    says otherwise), and the prompt pooled into the timestep embedding (`addition_embed_type="text"`) so that
    every block knows the colours and sizes asked for; the standard SD pipeline drives it unchanged."""
    levels = len(architecture.unet_channels)
    full_size_down, full_size_up = (
        ("CrossAttnDownBlock2D", "CrossAttnUpBlock2D")
        if architecture.attention_at_full_size
        else ("DownBlock2D", "UpBlock2D")
    )
    return UNet2DConditionModel(
        sample_size=256 // architecture.vae_downscale,
        in_channels=architecture.latent_channels,
        out_channels=architecture.latent_channels,
        block_out_channels=architecture.unet_channels,
        layers_per_block=architecture.unet_layers_per_block,
        down_block_types=(full_size_down,) + ("CrossAttnDownBlock2D",) * (levels - 1),
        up_block_types=("CrossAttnUpBlock2D",) * (levels - 1) + (full_size_up,),
        cross_attention_dim=architecture.text_width,
        attention_head_dim=architecture.attention_heads,
        norm_num_groups=min(32, min(architecture.unet_channels)),
        addition_embed_type="text",
        addition_embed_type_num_heads=max(1, architecture.text_width // 32),
    )


def grow_unet(saved: UNet2DConditionModel, architecture: Architecture) -> UNet2DConditionModel:
    """A UNet of `architecture` holding `saved`'s weights, where the architecture adds attention blocks that
    `saved` lacks. Each new block starts as the identity (its output projection is zero), so the grown UNet
    predicts exactly what `saved` did and training goes on from there."""
    grown = build_unet(architecture)
    refusal = f"cannot grow this UNet into {architecture}: it differs in more than attention blocks"
    try:
        missing, unexpected = grown.load_state_dict(saved.state_dict(), strict=False)
    except RuntimeError as error:  # a weight of another shape
        raise ValueError(refusal) from error
    if unexpected or any(".attentions." not in key for key in missing):
        raise ValueError(refusal)
    for name, module in grown.named_modules():
        if isinstance(module, Transformer2DModel) and f"{name}.proj_out.weight" in missing:
            torch.nn.init.zeros_(module.proj_out.weight)
            torch.nn.init.zeros_(module.proj_out.bias)
    return grown


def training_scheduler() -> DDPMScheduler:
    """v-prediction on a zero-terminal-SNR cosine schedule (Lin et al. 2023): clean solid colours in few steps."""
    return DDPMScheduler(
        num_train_timesteps=1000,
        beta_schedule="squaredcos_cap_v2",
        prediction_type="v_prediction",
        rescale_betas_zero_snr=True,
        clip_sample=False,
    )


def inference_scheduler() -> DDIMScheduler:
    """DDIM with trailing timesteps, as zero-terminal-SNR models need."""
    return DDIMScheduler(
        num_train_timesteps=1000,
        beta_schedule="squaredcos_cap_v2",
        prediction_type="v_prediction",
        rescale_betas_zero_snr=True,
        timestep_spacing="trailing",
        clip_sample=False,
        set_alpha_to_one=True,
        steps_offset=1,
    )


def parameter_count(module: torch.nn.Module) -> int:
    return sum(parameter.numel() for parameter in module.parameters())
