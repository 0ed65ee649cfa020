"""Project hooks: the parameters are checked before anything runs."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from kedro.config import MissingConfigException
from kedro.framework.hooks import hook_impl

if TYPE_CHECKING:
    from kedro.framework.context import KedroContext

logger = logging.getLogger(__name__)


class ParameterCheckHooks:
    """Validate every known parameter group (``actionlab.params``) once the context exists.

    ``after_context_created`` is Kedro's earliest hook: it fires before the catalog is built,
    before any node runs, and (``tryfirst``) before kedro-mlflow sets up its experiment, so a
    wrong ``--params`` value stops the run at once with the parameter, its value and what is
    allowed.
    """

    @hook_impl(tryfirst=True)
    def after_context_created(self, context: KedroContext) -> None:
        """Raise ``actionlab.params.ParameterError`` when a parameter is wrong."""
        # imported here: the schemas import torch and sklearn, which `kedro --help` does not need
        from actionlab.params import ParameterError, check_parameters

        try:
            # raw YAML merged with --params / runtime_params, as the user wrote them
            params = context.config_loader["parameters"]
        except MissingConfigException:
            return
        try:
            check_parameters(params)
        except ParameterError as err:
            logger.error("%s", err)
            raise
