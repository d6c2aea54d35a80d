"""One call: live status, recording, transcript, scorecard and review (`?call=`).

Hidden from the sidebar: calls are opened from the calls list, Home, a job or a candidate, and
the sidebar's "Calls & transcripts" leads back to the list (its own page, so the link works).
"""

from dashboard import ui
from dashboard.components import call_page

user = ui.require_user("call")
db = ui.require_database()
call_page.open_from_address(call_page.Viewer(db, user, ui.zone_in_sidebar(user)))
