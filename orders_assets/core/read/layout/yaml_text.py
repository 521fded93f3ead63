"""YAML as the config and layout files use it: safe types, and no aliases.

A config or layout needs no anchors, and a few hundred bytes of nested aliases (`*name`) expand
to gigabytes before any check could run (the "billion laughs": 460 bytes ran 45 s to 2.9 GB), so
an alias is refused where it is read, with its line and column.
"""
import yaml


class NoAliasLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses aliases."""

    def fetch_alias(self):
        raise yaml.YAMLError(f"aliases (*name) are not allowed here; write the value out{self.get_mark()}")


def load_yaml(text: str):
    """The document's value: what yaml.safe_load gives, aliases refused."""
    return yaml.load(text, Loader=NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
