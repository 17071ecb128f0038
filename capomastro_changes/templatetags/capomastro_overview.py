"""``{% cc_overview as overview %}``: the overview's numbers and chart, for the admin index."""

from django import template

from capomastro_changes.admin.overview import overview

register = template.Library()


@register.simple_tag
def cc_overview() -> dict:
    return overview()
