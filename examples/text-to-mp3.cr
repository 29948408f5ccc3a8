# Text to MP3: normalise the text, speak it with eSpeak NG, encode it with LAME.
# clawft pipeline run examples/text-to-mp3.cr book.txt --output book.mp3

[meta]
name = "text-to-mp3"
description = "Plain text to an MP3 audiobook"

[input]
type = "text/plain"

[output]
type = "audio/mpeg"

[[nodes]]
id = "normalize"
plugin = "normalize"

[[nodes]]
id = "speak"
plugin = "speak"
options = { voice = "en-us", rate = 170 }

[[nodes]]
id = "mp3"
plugin = "mp3"
options = { bitrate = 64 }
