"""The account page's sharing forms: what a listener shows the others, and their public links.

Kept apart from ``web.sharing`` (the views) so that ``web.account`` can put them on the
account page without importing the views that import it.
"""

from __future__ import annotations

from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from models.accounts import sharing
from models.periods import RANGE_LABELS
from models.schema.tables import SHARING_SECTIONS

SECTION_LABELS = {
    "totals": "Totals (plays, time, different tracks and artists)",
    "artists": "Top artists",
    "tracks": "Top tracks",
    "albums": "Top albums",
    "genres": "Top genres",
}


class Checkboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class _Choice(FlaskForm):
    periods = Checkboxes(
        "Periods", choices=[SelectChoice(key, label) for key, label in RANGE_LABELS.items()]
    )
    sections = Checkboxes(
        "What to show", choices=[SelectChoice(s, SECTION_LABELS[s]) for s in SHARING_SECTIONS]
    )


class SharingForm(_Choice):
    visible = BooleanField("Visible to the other listeners of this instance")


class LinkForm(_Choice):
    expires_in_days = IntegerField(
        "Expires after (days, empty: until revoked)",
        validators=[Optional(), NumberRange(1, sharing.MAX_LINK_DAYS)],
    )


class RevokeForm(FlaskForm):
    """No fields: a CSRF-checked POST revoking one link."""


def account_section(**overrides) -> dict:
    """The forms and links the account page's sharing section shows, for the current user."""
    current = sharing.settings_of(current_user.id)
    chosen = current.choice
    context = {
        "sharing": current,
        "sharing_form": SharingForm(
            formdata=None,
            visible=current.visible,
            periods=list(chosen.periods),
            sections=list(chosen.sections),
            prefix="share",
        ),
        "link_form": LinkForm(
            formdata=None,
            periods=list(chosen.periods),
            sections=list(chosen.sections),
            prefix="link",
        ),
        "revoke_form": RevokeForm(),
        "public_links": sharing.links_of(current_user.id),
    }
    context.update(overrides)
    return context
