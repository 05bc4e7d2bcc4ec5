"""Dates-and-times a person can mean: the years 1900 to 2199, for every datetime field.

Python's datetime stops at the years 1 and 9999. A value near either end, entered in a time zone,
overflows when it is converted (to UTC, to the site's zone) or moved by a deadline (an SAE's 24
hours): DRF's field raised OverflowError on `0001-01-01T00:00:00` in Shanghai time (a 500), and the
same value could reach a rule's arithmetic through a form. No clinical time lies outside these
years, so every datetime field refuses them with a message on the field, before any conversion:

- the API: DRF's ModelSerializer maps every model DateTimeField to `DateTimeField` below, which
  checks the year before DRF converts the time zone;
- forms, the admin and services: every model DateTimeField validates the range (full_clean, which
  model forms and services call), and Django's form field already turns a failed conversion into a
  message.

`install()` (called once from trial.apps) puts both in place.
"""
import datetime

from django.core.exceptions import ValidationError
from django.db import models
from rest_framework import serializers

EARLIEST_YEAR, LATEST_YEAR = 1900, 2199
OUT_OF_RANGE = f"Enter a date and time between the years {EARLIEST_YEAR} and {LATEST_YEAR + 1}."


def datetime_in_range(value: datetime.datetime) -> bool:
    return EARLIEST_YEAR <= value.year <= LATEST_YEAR


def validate_datetime_in_range(value) -> None:
    """Model field validator of every DateTimeField."""
    if isinstance(value, datetime.datetime) and not datetime_in_range(value):
        raise ValidationError(OUT_OF_RANGE, code="datetime_out_of_range")


class DateTimeField(serializers.DateTimeField):
    """DRF's DateTimeField, refusing the years no clinical time has before converting time zones."""

    default_error_messages = {"out_of_range": OUT_OF_RANGE}

    def enforce_timezone(self, value):
        if not datetime_in_range(value):
            self.fail("out_of_range")
        return super().enforce_timezone(value)


def install() -> None:
    if validate_datetime_in_range not in models.DateTimeField.default_validators:
        models.DateTimeField.default_validators = [*models.DateTimeField.default_validators,
                                                   validate_datetime_in_range]
    serializers.ModelSerializer.serializer_field_mapping[models.DateTimeField] = DateTimeField
