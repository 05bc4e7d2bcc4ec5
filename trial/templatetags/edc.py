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


@register.filter
def html_lang(language_code: str) -> str:
    """Django's language code as the BCP 47 tag of <html lang>: "zh-hans" → "zh-Hans", "en-gb" → "en-GB"."""
    language, _, region = str(language_code).partition("-")
    if not region:
        return language
    return f"{language}-{region.title() if len(region) == 4 else region.upper()}"
