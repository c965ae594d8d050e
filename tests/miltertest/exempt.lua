-- SPDX-License-Identifier: BSD-2-Clause
-- exempt.lua - exempt-clients over the milter protocol alone (issue 18):
-- a client in the list is accepted at connect, so the MTA asks nothing
-- more of that connection; one outside it is inspected as usual.
-- conf: profile = standard
-- conf: exempt-clients = { "192.0.2.0/24" }
-- log: NOQUEUE: rule=address-characters action=reject value=1 limit=0 stage=mail client=client.example.org[198.51.100.7]:12345 from=<a|b@example.test> detail="|"
dofile(testdir .. "/lib.lua")

run(function()
	local conn = start()
	check(mt.conninfo(conn, "relay.example.net", "192.0.2.7"), "connect")
	expect(conn, SMFIR_ACCEPT, "connect from an exempt client")
	check(mt.disconnect(conn), "disconnect")

	conn = connect()
	check(mt.conninfo(conn, "client.example.org", "198.51.100.7"), "connect")
	check(mt.mailfrom(conn, "<a|b@example.test>"), "MAIL")
	expect(conn, SMFIR_REPLYCODE, "MAIL of a|b from a client not exempt")
	check(mt.disconnect(conn), "disconnect")
end)
