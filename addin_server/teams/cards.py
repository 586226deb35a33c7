"""The Adaptive Cards (1.5, Teams' highest) the bot posts: a picture with its prompt, and short notices.

Pictures are public links (`images/public_api.py`), never `data:` URIs, so a card stays far under Teams'
28 KB limit; `card_bytes` measures it.
"""

from __future__ import annotations

import json
from typing import Any

from microsoft_teams.api.models import (
    Attachment,
    CardAction,
    CardActionType,
    CardImage,
    MessagingExtensionAttachment,
    ThumbnailCard,
)
from microsoft_teams.cards import AdaptiveCard, Image, TextBlock

from addin_server.images.store import ImageRecord

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
THUMBNAIL_CARD = "application/vnd.microsoft.card.thumbnail"
#: "The result card size limit is 28 KB. The card isn't sent if its size exceeds 28 KB."
CARD_LIMIT_BYTES = 28 * 1024


def as_json(model: Any) -> dict[str, Any]:
    """An SDK model as Teams reads it: camelCase names, no empty fields."""
    return model.model_dump(by_alias=True, exclude_none=True, mode="json")


def adaptive_card(body: list[Any]) -> dict[str, Any]:
    """An Adaptive Card 1.5 (Teams' highest) with `body`, as the JSON a card attachment carries."""
    card = AdaptiveCard(version="1.5", body=body)
    return {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", **as_json(card)}


def picture_card(image: ImageRecord, picture_url: str) -> dict[str, Any]:
    """The picture with its prompt as title and alt text, and what made it."""
    return adaptive_card(
        [
            TextBlock(text=image.prompt, wrap=True, weight="Bolder", max_lines=4),
            Image(url=picture_url, alt_text=image.prompt, size="Stretch"),
            TextBlock(
                text=f"Made with {image.model or 'the default model'} on your organization's own server · "
                f"seed {image.seed}",
                wrap=True,
                size="Small",
                is_subtle=True,
            ),
        ]
    )


def notice_card(title: str, text: str) -> dict[str, Any]:
    """A title and a sentence: the help card, "not allowed", "try again"."""
    return adaptive_card(
        [TextBlock(text=title, weight="Bolder", size="Medium", wrap=True), TextBlock(text=text, wrap=True)]
    )


def card_attachment(card: dict[str, Any]) -> MessagingExtensionAttachment:
    return MessagingExtensionAttachment(content_type=ADAPTIVE_CARD, content=card)


def search_result(image: ImageRecord, card: dict[str, Any], thumbnail_url: str) -> MessagingExtensionAttachment:
    """One search hit: the card to post, with a thumbnail preview; tapping it fetches a fresh card."""
    preview = ThumbnailCard(
        title=image.prompt[:80],
        text=f"seed {image.seed} · {image.width}×{image.height}",
        images=[CardImage(url=thumbnail_url, alt=image.prompt[:200])],
        tap=CardAction(type=CardActionType.INVOKE, title="Post", value={"image_id": image.id}),
    )
    return MessagingExtensionAttachment(
        content_type=ADAPTIVE_CARD,
        content=card,
        preview=Attachment(content_type=THUMBNAIL_CARD, content=as_json(preview)),
    )


def card_bytes(card: dict[str, Any]) -> int:
    """The card's size as Teams counts it: its JSON."""
    return len(json.dumps(card, separators=(",", ":")).encode())
