"""What the site's search box finds an entry by: its full name, its short forms, its MindSpore names.

Sphinx's search splits a query on dots, so ``F.gelu`` would only match pages that
contain both words somewhere. Index entries are matched against the whole query
instead, so each entry gets one per name a reader is likely to type: every dotted
suffix of the PyTorch name (``nn.functional.gelu``, ``functional.gelu``, ``gelu``),
the conventional aliases (``F.gelu`` for ``torch.nn.functional``), and the same for
each MindSpore equivalent (``mint.nn.GELU``, ``ops.gelu``). The nodes add nothing
visible; they only feed the search index.
"""

from __future__ import annotations

from sphinx import addnodes

# Module aliases PyTorch code conventionally imports, as (module prefix, alias).
ALIASES = (
    ("torch.nn.functional.", "F."),
    ("mindspore.ops.functional.", "F."),
    ("mindspore.", "ms."),
)


def short_forms(name: str) -> list[str]:
    """Every name a reader may type for ``name``, longest first, without repeats."""
    parts = name.split(".")
    forms = [".".join(parts[i:]) for i in range(len(parts))]
    for prefix, alias in ALIASES:
        if name.startswith(prefix):
            forms.append(alias + name[len(prefix):])
    return list(dict.fromkeys(forms))


def index_node(entry: dict, anchor: str) -> addnodes.index:
    """Search index entries pointing at the entry's anchor."""
    names = [entry["pytorch"]] + [eq["api"] for eq in entry["equivalents"] if eq.get("api")]
    forms = dict.fromkeys(form for name in names for form in short_forms(name))
    # "main" entries rank with the best matches (others are listed after every other result).
    return addnodes.index(entries=[("single", form, anchor, "main", None) for form in forms], inline=False)
