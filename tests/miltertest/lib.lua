-- SPDX-License-Identifier: BSD-2-Clause
-- lib.lua - what the miltertest scripts share (loaded with dofile).
-- The runner (tests/miltertest/run) defines milter, conf, socket and
-- testdir with -D; the configuration file names that socket.

-- Start the milter, connect and negotiate with libmilter's defaults (every
-- action and step offered, as Sendmail 8.14+ and Postfix do).
function start()
	local err = mt.startfilter(milter, "-f", "-d", "-c", conf)
	if err ~= nil then
		error("startfilter: " .. err)
	end
	return connect()
end

function connect()
	local conn = mt.connect(socket, 100, 0.1)
	if conn == nil then
		error("cannot connect to " .. socket)
	end
	check(mt.negotiate(conn, nil, nil, nil), "negotiate")
	return conn
end

-- A call of mt.* returns nil or an error string.
function check(err, what)
	if err ~= nil then
		error(what .. ": " .. err)
	end
end

local names = {
	[SMFIR_CONTINUE] = "continue", [SMFIR_ACCEPT] = "accept",
	[SMFIR_REJECT] = "reject", [SMFIR_TEMPFAIL] = "tempfail",
	[SMFIR_DISCARD] = "discard", [SMFIR_REPLYCODE] = "replycode",
}

function replyname(r)
	return names[r] or string.format("%q", string.char(r))
end

-- The last reply on conn must be want (an SMFIR_* constant).
function expect(conn, want, what)
	local got = mt.getreply(conn)
	if got ~= want then
		error(string.format("%s: reply %s, expected %s", what, replyname(got),
		                    replyname(want)))
	end
end

-- At the end of a message the milter changed nothing: no header added,
-- changed, inserted or deleted, the body untouched, no quarantine.  (The
-- reply is the caller's to check; miltertest checks recipient changes
-- only by name, so envelope.lua checks instead that the milter asks for
-- none of the actions that change mail.)
function untouched(conn, what)
	for _, op in ipairs({MT_HDRADD, MT_HDRCHANGE, MT_HDRINSERT, MT_HDRDELETE,
	                     MT_BODYCHANGE, MT_QUARANTINE}) do
		if mt.eom_check(conn, op) then
			error(what .. ": the milter changed the message (op " .. op .. ")")
		end
	end
end

-- Send headers (a list of {name, value}), the end of the header, and the
-- body chunks; each step must be answered with continue.
function message(conn, headers, body, what)
	check(mt.data(conn), "DATA")
	expect(conn, SMFIR_CONTINUE, what .. ": DATA")
	for _, h in ipairs(headers) do
		check(mt.header(conn, h[1], h[2]), "header " .. h[1])
		expect(conn, SMFIR_CONTINUE, what .. ": header " .. h[1])
	end
	check(mt.eoh(conn), "EOH")
	expect(conn, SMFIR_CONTINUE, what .. ": end of header")
	for _, chunk in ipairs(body) do
		check(mt.bodystring(conn, chunk), "body")
		expect(conn, SMFIR_CONTINUE, what .. ": body chunk")
	end
end

-- A MAIL FROM of a sender with n octets (local part of s, @example.test).
function sender_of(n)
	local domain = "@example.test"
	return string.rep("s", n - #domain) .. domain
end

-- Run the script's body: miltertest drops the message of an error it
-- catches itself, so say it here, on stderr, then fail.
function run(body)
	local ok, err = pcall(body)
	if not ok then
		io.stderr:write("miltertest: " .. tostring(err) .. "\n")
		error(err)
	end
end
