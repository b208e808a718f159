"""Sequence diagrams of recorded flows, drawn inline in a notebook.

``flow.diagram()`` (see ``workshop.tracing``) returns a ``SequenceDiagram``: one
column per participant (client, server, each traced layer, the channel layer),
one arrow per hop, top to bottom. It is an inline SVG in HTML, with no script and
nothing fetched, drawn in ``currentColor`` inside an element coloured by
JupyterLab's own theme variable, so it reads in the light and the dark theme.
Its text form (``repr``) is the arrows as text: that is what nbval compares, and
both forms come from the same hops, so they cannot disagree.
"""

from __future__ import annotations

from html import escape

__all__ = ["SequenceDiagram"]

_COLUMN = 160  # px between lifelines
_ROW = 26  # px between arrows
_TOP = 44  # px above the first arrow: the participants' boxes
_CHAR = 7.2  # px per character at 12px monospace (a wide font's), to size boxes and the canvas


class SequenceDiagram:
    """A sequence diagram of hops (``workshop.tracing.Hop``), in order."""

    def __init__(self, hops, title: str = ""):
        self.hops = list(hops)
        self.title = title
        self.participants = self._columns()
        # Wide enough that the participants' boxes never touch.
        self.column = max([_COLUMN] + [len(name) * _CHAR + 28 for name in self.participants])

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

    def svg(self) -> str:
        width = max(len(self.participants) * self.column, 200)
        longest = max((len(hop.text) for hop in self.hops), default=0) * _CHAR
        width = int(max(width, self._x(self.participants[-1]) + longest / 2 + 20) if self.participants else width)
        height = _TOP + (len(self.hops) + 1) * _ROW
        out = [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="workshop-sequence" width="{width}" '
            f'height="{height}" style="max-width: 100%; height: auto" viewBox="0 0 {width} {height}" '
            f'font-family="monospace" font-size="12" '
            f'role="img" aria-label="{escape(self.title or "sequence diagram")}">',
            '<defs><marker id="workshop-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
            'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="currentColor"/>'
            "</marker></defs>",
        ]
        labels = self._label_boxes()
        for name in self.participants:
            x = self._x(name)
            box = max(len(name) * _CHAR + 16, 80)
            out.append(
                f'<rect x="{x - box / 2:.0f}" y="6" width="{box:.0f}" height="24" rx="4" '
                'fill="none" stroke="currentColor"/>'
            )
            out.append(f'<text x="{x:.0f}" y="22" text-anchor="middle" fill="currentColor">{escape(name)}</text>')
            # The lifeline, broken where a label lies across it, so that no line runs through text.
            top = 30
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
                box = len(hop.text) * _CHAR + 12
                out.append(
                    f'<rect x="{x1 - box / 2:.0f}" y="{y - 15}" width="{box:.0f}" height="20" '
                    'fill="currentColor" fill-opacity="0.08" stroke="currentColor" stroke-opacity="0.5"/>'
                )
                out.append(
                    f'<text x="{x1:.0f}" y="{y - 1}" text-anchor="middle" fill="currentColor" '
                    f'font-style="italic">{escape(hop.text)}</text>'
                )
                continue
            out.append(
                f'<line x1="{x1:.0f}" y1="{y}" x2="{x2:.0f}" y2="{y}" stroke="currentColor" '
                'marker-end="url(#workshop-arrow)"/>'
            )
            middle = (x1 + x2) / 2
            out.append(
                f'<text x="{middle:.0f}" y="{y - 5}" text-anchor="middle" fill="currentColor">{escape(hop.text)}</text>'
            )
        out.append("</svg>")
        return "\n".join(out)

    def _label_boxes(self) -> list[tuple[float, float, float, float]]:
        """Where each arrow's label and each note lie: (left, right, top, bottom), top to bottom."""
        boxes = []
        for row, hop in enumerate(self.hops):
            y = _TOP + (row + 1) * _ROW
            middle = self._x(hop.source) if hop.is_note else (self._x(hop.source) + self._x(hop.target)) / 2
            half = (len(hop.text) * _CHAR + (12 if hop.is_note else 4)) / 2
            boxes.append((middle - half, middle + half, y - 17, y + 5 if hop.is_note else y - 1))
        return boxes

    @staticmethod
    def _lifeline(x: float, top: float, bottom: float) -> str:
        return (
            f'<line x1="{x:.0f}" y1="{top:.0f}" x2="{x:.0f}" y2="{bottom:.0f}" stroke="currentColor" '
            'stroke-opacity="0.35" stroke-dasharray="4 4"/>'
        )

    def _repr_html_(self) -> str:
        # JupyterLab's theme variable (light or dark), with a fallback outside JupyterLab.
        return f'<div style="color: var(--jp-content-font-color1, #1f1f1f); overflow-x: auto">{self.svg()}</div>'
