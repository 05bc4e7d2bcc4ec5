from django import template

register = template.Library()


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None


@register.filter
def in_sentence(label: str) -> str:
    """A form's label inside a sentence: "Response assessment" → "response
    assessment", but an acronym keeps its capitals ("CRS assessment", "CAR-T …")."""
    label = str(label)
    first, _, rest = label.partition(" ")
    if not first or (len(first) > 1 and first.replace("-", "").isupper()):
        return label
    return first[0].lower() + first[1:] + (" " + rest if rest else "")
