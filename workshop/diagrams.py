"""Sequence diagrams of recorded flows, drawn inline in a notebook.

``flow.diagram()`` (see ``workshop.tracing``) returns a ``SequenceDiagram``: one
column per participant (client, server, each traced layer, the channel layer),
one arrow per hop, top to bottom. Its text form (``repr``) is the arrows as text:
that is what nbval compares, and both forms come from the same hops, so they
cannot disagree.

In a notebook it is an SVG image (no script, nothing fetched) shown by an ``<img>``
in the HTML output, so that it survives JupyterLab:

- A notebook just opened is not trusted. JupyterLab then sanitizes an HTML output
  (an inline ``<svg>`` comes out as a jumble of its texts) and never picks an
  ``image/svg+xml`` one: its SVG renderer is not "safe", so the output area shows the
  text form instead (``preferredMimeType(data, trusted ? "any" : "ensure")`` in
  @jupyterlab/outputarea; ``renderSVG`` in @jupyterlab/rendermime). The sanitizer
  keeps an ``<img>`` and its ``data:`` source (it checks schemes on ``href`` and
  ``cite`` only).
- An image is a document of its own: its ids (the arrowhead marker's) cannot clash
  with another diagram's in another notebook of the same page. Inline, a marker
  found in a hidden tab was drawn nowhere. The ids are unique per diagram all the
  same (a hash of what it draws), for anything that inlines the SVG (an HTML export).
- Its text is as large as the notebook's body text (14px, JupyterLab's
  ``--jp-content-font-size1``) and it is never shrunk to the cell's width: a wide
  flow scrolls sideways (``jp-mod-unconfined`` lifts JupyterLab's ``max-width: 100%``).
- An image cannot see the page's colours, so it brings its own: dark ink on a
  light plate, readable in JupyterLab's light and dark themes alike.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape

__all__ = ["SequenceDiagram"]

FONT_SIZE = 14  # px: JupyterLab's body text (--jp-content-font-size1), never smaller
_CHAR = 0.6 * FONT_SIZE  # px per character of a monospace font (DejaVu Sans Mono, Menlo: 0.602em)
_COLUMN = 180  # px between lifelines, at least
_ROW = 30  # px between arrows
_BOX = 28  # px: height of a participant's box
_TOP = 50  # px above the first arrow: the participants' boxes
INK = "#1f1f1f"  # JupyterLab Light's text colour
PLATE = "#fbfbfb"  # the diagram's own background, light in both themes
_EDGE = "#c8c8c8"  # the plate's border: where the diagram ends on a white page
_ID = "{diagram-id}"  # replaced by the diagram's own id, once its content is known


class SequenceDiagram:
    """A sequence diagram of hops (``workshop.tracing.Hop``), in order."""

    def __init__(self, hops, title: str = ""):
        self.hops = list(hops)
        self.title = title
        self.participants = self._columns()
        # Wide enough that the participants' boxes never touch.
        self.column = max([_COLUMN] + [len(name) * _CHAR + 32 for name in self.participants])

    def _columns(self) -> list[str]:
        """Participants left to right, in order of appearance; across processes, grouped by
        process: the first process's clients, server and layers, then what they share (the
        channel layer), then each other process mirrored (layers, server, clients)."""
        seen: dict[str, set] = {}
        for hop in self.hops:
            for name in (hop.source, hop.target):
                seen.setdefault(name, set()).add(hop.process)
        processes = list(dict.fromkeys(hop.process for hop in self.hops))
        if len(processes) < 2:
            return list(seen)

        def place(name):
            kind = 0 if name.startswith("client") else 1 if name.startswith("server") else 2
            if len(seen[name]) > 1:
                return (1, 0)
            index = processes.index(next(iter(seen[name])))
            return (0, kind) if index == 0 else (1 + index, 2 - kind)

        return sorted(seen, key=place)  # stable: same place, order of appearance

    def text(self) -> str:
        lines = [self.title] if self.title else []
        for hop in self.hops:
            if hop.is_note:
                lines.append(f"note over {hop.source}: {hop.text}")
            else:
                lines.append(f"{hop.source} -> {hop.target}: {hop.text}")
        return "\n".join(lines)

    def __repr__(self):
        return self.text()

    def _x(self, name: str) -> float:
        return self.column / 2 + self.participants.index(name) * self.column

    def size(self) -> tuple[int, int]:
        """Width and height in px, at which the diagram is shown (never shrunk)."""
        width = max(len(self.participants) * self.column, 200)
        longest = max((len(hop.text) for hop in self.hops), default=0) * _CHAR
        if self.participants:
            width = max(width, self._x(self.participants[-1]) + longest / 2 + 20)
        return int(width), _TOP + (len(self.hops) + 1) * _ROW

    def svg(self) -> str:
        """The diagram as a standalone SVG document; its ids are its own (``diagram_id``)."""
        return self._svg_drawing().replace(_ID, self.diagram_id)

    @property
    def diagram_id(self) -> str:
        """An id unique to what the diagram draws, the same on every run: a hash of the drawing.

        Two diagrams that draw the same get the same id, and their markers are the same too.
        """
        digest = hashlib.sha256(self._svg_drawing().encode("utf-8")).hexdigest()
        return f"workshop-sequence-{digest[:12]}"

    def _svg_drawing(self) -> str:
        width, height = self.size()
        out = [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="workshop-sequence" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}" '
            f'font-family="monospace" font-size="{FONT_SIZE}" '
            f'role="img" aria-label="{escape(self.title or "sequence diagram")}">',
            f'<defs><marker id="{_ID}-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
            f'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{INK}"/>'
            "</marker></defs>",
            f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" rx="6" fill="{PLATE}" stroke="{_EDGE}"/>',
        ]
        labels = self._label_boxes()
        for name in self.participants:
            x = self._x(name)
            box = max(len(name) * _CHAR + 20, 90)
            out.append(
                f'<rect x="{x - box / 2:.0f}" y="6" width="{box:.0f}" height="{_BOX}" rx="4" '
                f'fill="none" stroke="{INK}"/>'
            )
            out.append(
                f'<text x="{x:.0f}" y="{6 + _BOX / 2 + FONT_SIZE * 0.35:.0f}" text-anchor="middle" '
                f'fill="{INK}">{escape(name)}</text>'
            )
            # The lifeline, broken where a label lies across it, so that no line runs through text.
            top = 6 + _BOX
            for left, right, above, below in labels:
                if left < x < right and above > top:
                    out.append(self._lifeline(x, top, above))
                if left < x < right:
                    top = max(top, below)
            out.append(self._lifeline(x, top, height - 6))
        for row, hop in enumerate(self.hops):
            y = _TOP + (row + 1) * _ROW
            x1, x2 = self._x(hop.source), self._x(hop.target)
            if hop.is_note:
                box = len(hop.text) * _CHAR + 14
                out.append(
                    f'<rect x="{x1 - box / 2:.0f}" y="{y - 18}" width="{box:.0f}" height="24" '
                    f'fill="{INK}" fill-opacity="0.07" stroke="{INK}" stroke-opacity="0.5"/>'
                )
                out.append(
                    f'<text x="{x1:.0f}" y="{y - 1}" text-anchor="middle" fill="{INK}" '
                    f'font-style="italic">{escape(hop.text)}</text>'
                )
                continue
            out.append(
                f'<line x1="{x1:.0f}" y1="{y}" x2="{x2:.0f}" y2="{y}" stroke="{INK}" marker-end="url(#{_ID}-arrow)"/>'
            )
            middle = (x1 + x2) / 2
            out.append(
                f'<text x="{middle:.0f}" y="{y - 6}" text-anchor="middle" fill="{INK}">{escape(hop.text)}</text>'
            )
        out.append("</svg>")
        return "\n".join(out)

    def _label_boxes(self) -> list[tuple[float, float, float, float]]:
        """Where each arrow's label and each note lie: (left, right, top, bottom), top to bottom."""
        boxes = []
        for row, hop in enumerate(self.hops):
            y = _TOP + (row + 1) * _ROW
            middle = self._x(hop.source) if hop.is_note else (self._x(hop.source) + self._x(hop.target)) / 2
            half = (len(hop.text) * _CHAR + (14 if hop.is_note else 4)) / 2
            boxes.append((middle - half, middle + half, y - 20, y + 6 if hop.is_note else y - 1))
        return boxes

    @staticmethod
    def _lifeline(x: float, top: float, bottom: float) -> str:
        return (
            f'<line x1="{x:.0f}" y1="{top:.0f}" x2="{x:.0f}" y2="{bottom:.0f}" stroke="{INK}" '
            'stroke-opacity="0.35" stroke-dasharray="4 4"/>'
        )

    def _repr_html_(self) -> str:
        # An <img> of the SVG, at its own size (jp-mod-unconfined: JupyterLab's class for "do not
        # fit to the width"), in a box that scrolls sideways when the diagram is wider than the cell.
        width, height = self.size()
        source = base64.b64encode(self.svg().encode("utf-8")).decode("ascii")
        return (
            '<div class="workshop-sequence-scroll" style="overflow-x: auto">'
            f'<img class="workshop-sequence jp-mod-unconfined" src="data:image/svg+xml;base64,{source}" '
            f'width="{width}" height="{height}" style="max-width: none" '
            f'alt="{escape(self.title or "sequence diagram")}">'
            "</div>"
        )
