CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, quantity INTEGER NOT NULL);
INSERT INTO items (id, name, quantity) VALUES (1, 'bolt', 120), (2, 'nut', 0), (3, 'washer', 7), (4, 'gear', 2);
