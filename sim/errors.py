"""The user-facing errors: a mistake the user can fix (a scenario file, an override, a results
folder, a population that clashes with the rest of its scenario). The command line prints one
of these as one line per problem and exits with status 2; every other exception is a bug in
bondlab (or in an agent) and keeps its traceback."""


class BondlabError(Exception):
    """Base of every error that is the user's to fix."""


class ConfigurationError(BondlabError, ValueError):
    """A value that validation could not judge alone clashes with the rest of the run: a
    population naming a bond no venue lists, say. Agent builders raise it; the kernel reports
    it as the scenario's error, naming the file and the population."""
