-- SPDX-License-Identifier: BSD-2-Clause
-- envelope.lua - the envelope rules, spoken to over the milter protocol
-- alone (issue 18): sender-length, address-characters and rcpt-count
-- answer with a reply of their own (SMFIR_REPLYCODE) where they fire and
-- continue elsewhere; a transaction aborted (RSET: the only abort Sendmail
-- sends) or refused leaves nothing behind for the next one.
-- conf: profile = standard
-- conf: rule rcpt-count { limit = 2 }
-- conf: rule sender-length { limit = 100 }
-- log: NOQUEUE: rule=sender-length action=reject value=101 limit=100 stage=mail client=client.example.net[192.0.2.7]:12345 from=<ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss@example.test>
-- log: NOQUEUE: rule=rcpt-count action=tempfail value=3 limit=2 stage=rcpt client=client.example.net[192.0.2.7]:12345 from=<sssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss@example.test> rcpt=<u3@dest.test>
-- log: NOQUEUE: rule=rcpt-count action=tempfail value=4 limit=2 stage=rcpt client=client.example.net[192.0.2.7]:12345 from=<sssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss@example.test> rcpt=<u4@dest.test>
-- log: NOQUEUE: rule=rcpt-count action=tempfail value=3 limit=2 stage=rcpt client=client.example.net[192.0.2.7]:12345 from=<sender@example.test> rcpt=<u3@dest.test>
-- log: NOQUEUE: rule=rcpt-count action=tempfail value=3 limit=2 stage=rcpt client=client.example.net[192.0.2.7]:12345 from=<sender@example.test> rcpt=<u3@dest.test>
-- log: NOQUEUE: rule=address-characters action=reject value=1 limit=0 stage=mail client=client.example.net[192.0.2.7]:12345 from=<a|b@example.test> detail="|"
-- log: NOQUEUE: rule=address-characters action=reject value=1 limit=0 stage=rcpt client=client.example.net[192.0.2.7]:12345 from=<sender@example.test> rcpt=<x`y@dest.test> detail="`"
dofile(testdir .. "/lib.lua")

run(function()
	local conn = start()

	-- The milter asks for no action that changes mail.
	for _, a in ipairs({SMFIF_ADDHDRS, SMFIF_CHGHDRS, SMFIF_CHGBODY, SMFIF_ADDRCPT,
	                    SMFIF_DELRCPT, SMFIF_QUARANTINE}) do
		if mt.test_action(conn, a) then
			error("the milter asked for action " .. a)
		end
	end

	check(mt.conninfo(conn, "client.example.net", "192.0.2.7"), "connect")

	-- sender-length: 101 octets refused, 100 taken; a refused MAIL leaves the
	-- session usable
	check(mt.mailfrom(conn, "<" .. sender_of(101) .. ">"), "MAIL 101")
	expect(conn, SMFIR_REPLYCODE, "MAIL of a 101-octet sender")
	check(mt.mailfrom(conn, "<" .. sender_of(100) .. ">"), "MAIL 100")
	expect(conn, SMFIR_CONTINUE, "MAIL of a 100-octet sender")

	-- RCPT u1 ... u${n}: the first two taken, the rest refused (limit 2)
	local function rcpts(n, what)
		for i = 1, n do
			check(mt.rcptto(conn, "<u" .. i .. "@dest.test>"), "RCPT " .. i)
			expect(conn, i <= 2 and SMFIR_CONTINUE or SMFIR_REPLYCODE,
			       "RCPT " .. i .. what)
		end
	end

	-- rcpt-count: the third and fourth recipients refused
	rcpts(4, "")

	-- after an abort (RSET) the count starts again
	check(mt.abort(conn), "abort")
	check(mt.mailfrom(conn, "<sender@example.test>"), "MAIL after abort")
	expect(conn, SMFIR_CONTINUE, "MAIL after abort")
	rcpts(3, " after abort")

	-- ... and after a new MAIL without an abort (Sendmail after a message)
	check(mt.mailfrom(conn, "<sender@example.test>"), "second MAIL")
	expect(conn, SMFIR_CONTINUE, "second MAIL")
	rcpts(3, " of the second MAIL")

	-- address-characters, in the sender and in a recipient
	check(mt.abort(conn), "abort")
	check(mt.mailfrom(conn, "<a|b@example.test>"), "MAIL a|b")
	expect(conn, SMFIR_REPLYCODE, "MAIL from a|b")
	check(mt.mailfrom(conn, "<sender@example.test>"), "MAIL")
	expect(conn, SMFIR_CONTINUE, "MAIL")
	check(mt.rcptto(conn, "<x`y@dest.test>"), "RCPT x`y")
	expect(conn, SMFIR_REPLYCODE, "RCPT to x`y")

	check(mt.disconnect(conn), "disconnect")
end)
