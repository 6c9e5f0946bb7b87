"""Imports every domain's tables so that Base.metadata is complete (Alembic, tests)."""

from civicgrid.auth import models as auth_models  # noqa: F401
from civicgrid.cases import models as cases_models  # noqa: F401
from civicgrid.categories import models as categories_models  # noqa: F401
from civicgrid.citizen import models as citizen_models  # noqa: F401
from civicgrid.geo import models as geo_models  # noqa: F401
from civicgrid.hotline import models as hotline_models  # noqa: F401
from civicgrid.kit import audit, idempotency, scheduler  # noqa: F401 - the machinery's tables
from civicgrid.kit.db import Base
from civicgrid.media import models as media_models  # noqa: F401
from civicgrid.notices import models as notices_models  # noqa: F401
from civicgrid.open311 import models as open311_models  # noqa: F401
from civicgrid.org import models as org_models  # noqa: F401
from civicgrid.snowfields import models as snowfields_models  # noqa: F401
from civicgrid.spotchecks import models as spotchecks_models  # noqa: F401
from civicgrid.supervision import models as supervision_models  # noqa: F401
from civicgrid.vehicles import models as vehicles_models  # noqa: F401
from civicgrid.worklogs import models as worklogs_models  # noqa: F401

metadata = Base.metadata
