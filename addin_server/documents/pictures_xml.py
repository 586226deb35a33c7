"""The few XML edits python-pptx and python-docx do not offer: alt text, names, z-order, transparency."""

from __future__ import annotations

from lxml import etree

GENERATED_NAME_PREFIX = "Generated image"
_A = "http://schemas.openxmlformats.org/drawingml/2006/main"


def mark_generated(c_nv_pr: etree._Element, alt_text: str, number: int) -> None:
    """Name the picture as generated and give it alt text (`cNvPr` in PowerPoint, `docPr` in Word)."""
    c_nv_pr.set("name", f"{GENERATED_NAME_PREFIX} {number}")
    c_nv_pr.set("descr", alt_text)


def send_to_back(shape_element: etree._Element) -> None:
    """Move a shape first in its slide's shape tree (after the two group properties), i.e. behind the rest."""
    tree = shape_element.getparent()
    tree.remove(shape_element)
    tree.insert(2, shape_element)


def set_fill_transparency(shape_element: etree._Element, alpha_percent: int) -> None:
    """Give a shape's solid fill an alpha (0-100 % opaque)."""
    for colour in shape_element.iter(f"{{{_A}}}srgbClr"):
        if colour.getparent().tag == f"{{{_A}}}solidFill":
            for old in colour.findall(f"{{{_A}}}alpha"):
                colour.remove(old)
            alpha = etree.SubElement(colour, f"{{{_A}}}alpha")
            alpha.set("val", str(alpha_percent * 1000))
