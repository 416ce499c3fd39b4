"""Errands for villagers (代办, SPEC 3.7): logged by an agent at a village point, handed to a
township or county hall, accepted there as a case, followed to completion and handed back."""
