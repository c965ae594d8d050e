-- SPDX-License-Identifier: BSD-2-Clause
-- content.lua - the content rules over the milter protocol alone
-- (issue 18): a clean message is passed without a change, duplicate From
-- is refused at the end of the header, an attachment name over 255
-- octets at the end of the message with the SMTP reply of SPEC 6, an
-- over-long body line is only logged.
-- conf: profile = standard
-- log: 4BxQ2m1Vz2: rule=body-line-length action=log value=999 limit=998 stage=body client=client.example.net[192.0.2.7]:12345 from=<alice@example.net>
-- log: 4BxQ2m1Vz3: rule=duplicate-header action=reject value=2 limit=1 stage=eoh client=client.example.net[192.0.2.7]:12345 from=<alice@example.net> header=from
-- log: 4BxQ2m1Vz4: rule=mime-filename-length action=reject value=256 limit=255 stage=body client=client.example.net[192.0.2.7]:12345 from=<alice@example.net> detail="aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa..."
dofile(testdir .. "/lib.lua")

run(function()
	local conn = start()
	check(mt.conninfo(conn, "client.example.net", "192.0.2.7"), "connect")

	local headers = {
		{"From", "<alice@example.net>"}, {"To", "<user@dest.test>"},
		{"Subject", "plain"}, {"Date", "Thu, 01 Jan 2026 00:00:00 +0000"},
		{"Message-ID", "<m1@example.net>"},
	}

	-- the queue id as Postfix sends it (macro i, asked for by the milter)
	local n = 0
	function envelope(what)
		n = n + 1
		check(mt.macro(conn, SMFIC_MAIL, "i", "4BxQ2m1Vz" .. n), "macro i")
		check(mt.mailfrom(conn, "<alice@example.net>"), "MAIL")
		expect(conn, SMFIR_CONTINUE, what .. ": MAIL")
		check(mt.rcptto(conn, "<user@dest.test>"), "RCPT")
		expect(conn, SMFIR_CONTINUE, what .. ": RCPT")
	end

	-- 1. clean: continue throughout, nothing changed at the end
	envelope("clean")
	message(conn, headers, {"Hello.\r\n", "Two chunks.\r\n"}, "clean")
	check(mt.eom(conn), "EOM")
	local r = mt.getreply(conn)
	if r ~= SMFIR_CONTINUE and r ~= SMFIR_ACCEPT then
		error("clean: end of message " .. replyname(r))
	end
	untouched(conn, "clean")

	-- 2. a body line of 999 octets: logged (standard profile), delivered as is
	envelope("long line")
	message(conn, headers, {string.rep("x", 999) .. "\r\nend\r\n"}, "long line")
	check(mt.eom(conn), "EOM")
	r = mt.getreply(conn)
	if r ~= SMFIR_CONTINUE and r ~= SMFIR_ACCEPT then
		error("long line: end of message " .. replyname(r))
	end
	untouched(conn, "long line")

	-- 3. From twice: refused when the header ends
	envelope("duplicate From")
	check(mt.data(conn), "DATA")
	for _, h in ipairs({{"From", "<ceo@victim.test>"}, {"From", "<attacker@evil.test>"},
	                    {"To", "<user@dest.test>"}, {"Subject", "wire"}}) do
		check(mt.header(conn, h[1], h[2]), "header")
		expect(conn, SMFIR_CONTINUE, "duplicate From: header " .. h[1])
	end
	check(mt.eoh(conn), "EOH")
	expect(conn, SMFIR_REPLYCODE, "duplicate From: end of header")
	check(mt.abort(conn), "abort")

	-- 4. an attachment name of 256 octets: refused at the end of the message
	envelope("long filename")
	local name = string.rep("a", 252) .. ".txt"
	message(conn, {{"From", "<alice@example.net>"}, {"To", "<user@dest.test>"},
	               {"Subject", "attachment"}, {"MIME-Version", "1.0"},
	               {"Content-Type", 'multipart/mixed; boundary="b1"'}},
	        {"--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n",
	         "--b1\r\nContent-Type: application/octet-stream\r\n" ..
	         'Content-Disposition: attachment; filename="' .. name .. '"\r\n\r\n' ..
	         "AAAA\r\n--b1--\r\n"}, "long filename")
	check(mt.eom(conn), "EOM")
	expect(conn, SMFIR_REPLYCODE, "long filename: end of message")
	if not mt.eom_check(conn, MT_SMTPREPLY, "550", "5.7.1",
	                    "Message refused by policy (mime-filename-length)") then
		error("long filename: not 550 5.7.1 Message refused by policy (mime-filename-length)")
	end

	check(mt.disconnect(conn), "disconnect")
end)
