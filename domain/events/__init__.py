"""Events: the catalog (``catalog``), the envelope (``envelope``) and canonical bytes (``codec``).

Importing this package registers every event type, so stored events can always be decoded.
"""

from domain.events import catalog as catalog
