"""PNG metadata for generated images: prompt, seed and model as text chunks, and the IPTC mark for AI media.

The IPTC digital source type `trainedAlgorithmicMedia` is what Office, Adobe and the C2PA tools read to
label an image as made by a generative model; it travels as an XMP packet in an iTXt chunk.
"""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING

from PIL import PngImagePlugin

if TYPE_CHECKING:
    from PIL import Image

    from engine.api import GenerationRequest

SOFTWARE = "m365-image-engine"
PNG_COMPRESS_LEVEL = 1
TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
#: A picture changed by a generative model (an edit or a repainted area), not made from nothing.
COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA = (
    "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
)

_XMP_TEMPLATE = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    Iptc4xmpExt:DigitalSourceType="{source_type}"
    xmp:CreatorTool="{software}"/>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""


def generation_parameters(request: GenerationRequest, seed: int) -> dict[str, object]:
    """The parameters that reproduce one image, as stored in its metadata."""
    return {
        "prompt": request.prompt,
        "negative_prompt": request.negative_prompt,
        "seed": seed,
        "model": request.model,
        "width": request.width,
        "height": request.height,
        "steps": request.steps,
        "guidance_scale": request.guidance_scale,
        "scheduler": request.scheduler,
        **({"kind": request.kind, "strength": request.strength} if request.kind != "generate" else {}),
    }


def png_bytes_with_metadata(image: Image.Image, request: GenerationRequest, seed: int) -> bytes:
    """Encode `image` as PNG with the generation parameters and the AI-generated mark."""
    info = PngImagePlugin.PngInfo()
    info.add_text("prompt", request.prompt)
    if request.negative_prompt:
        info.add_text("negative_prompt", request.negative_prompt)
    info.add_text("seed", str(seed))
    info.add_text("model", request.model or "")
    info.add_text("parameters", json.dumps(generation_parameters(request, seed)))
    info.add_text("Software", SOFTWARE)
    source_type = TRAINED_ALGORITHMIC_MEDIA
    if request.kind != "generate":
        info.add_text("strength", str(request.strength))
        source_type = COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA
    info.add_text("DigitalSourceType", source_type)
    xmp = _XMP_TEMPLATE.format(source_type=source_type, software=SOFTWARE)
    info.add_itxt("XML:com.adobe.xmp", xmp)
    buffer = io.BytesIO()
    # Level 1 encodes about 4x faster than the default 6 for files about 30 % larger; on a busy server the
    # encoding sits between one batch and the next, so speed wins.
    image.save(buffer, format="PNG", pnginfo=info, compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()
