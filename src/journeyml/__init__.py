"""journeyml: predict how customer journeys end, explained in the customer's own touchpoints."""

__version__ = "0.1.0"
