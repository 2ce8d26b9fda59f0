from tests.library.apps import LibraryConfig


class ExtendedConfig(LibraryConfig):
    """An installed app whose config extends a library's (see ``tests.library``)."""

    name = "tests.extended"
    label = "extended"
    default = True  # this module holds two configs: this one is the app's
