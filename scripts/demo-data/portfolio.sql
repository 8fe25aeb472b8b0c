-- The demo portfolio: a Paris firm of three lawyers, twenty clients and
-- fifty fee notes (notes d'honoraires) issued from January to March 2026.
-- Deterministic: the same portfolio every run.
BEGIN;

-- Each lawyer logs in as their own PostgreSQL role (a member of
-- dunning_lawyer): row-level security shows each only their own files.
INSERT INTO dunning.lawyer (id, full_name, email, db_role) VALUES
	(1, 'Maître Anne Martin', 'a.martin@cabinet-martin.example', 'maitre_martin'),
	(2, 'Maître Karim Benali', 'k.benali@cabinet-martin.example', 'maitre_benali'),
	(3, 'Maître Sophie Lefèvre', 's.lefevre@cabinet-martin.example', 'maitre_lefevre');

INSERT INTO dunning.client (id, kind, first_name, last_name, company_name, email,
	address_line1, postal_code, city, strategic, lawyer_id) VALUES
	(1,  'individual',   'Claire',   'Dupont',   NULL, 'claire.dupont@example.org', '3 rue des Lilas', '69003', 'Lyon', false, 1),
	(2,  'professional', NULL, NULL, 'SARL Boulangerie Leroy', 'compta@boulangerie-leroy.example', '8 avenue Foch', '75016', 'Paris', false, 1),
	(3,  'individual',   'Jean',     'Moreau',   NULL, 'jean.moreau@example.org', '14 rue Victor Hugo', '33000', 'Bordeaux', false, 2),
	(4,  'professional', NULL, NULL, 'SAS Transports Garnier', 'factures@garnier-transports.example', 'ZI des Bruyères', '45000', 'Orléans', false, 2),
	(5,  'individual',   'Élodie',   'Roux',     NULL, 'elodie.roux@example.net', '27 quai de la Loire', '75019', 'Paris', false, 3),
	(6,  'professional', NULL, NULL, 'Groupe Hôtelier Azur', 'direction.financiere@azur-hotels.example', '1 promenade des Anglais', '06000', 'Nice', true, 1),
	(7,  'individual',   'Thomas',   'Fournier', NULL, 'thomas.fournier@example.org', '5 impasse des Tilleuls', '44000', 'Nantes', false, 2),
	(8,  'professional', NULL, NULL, 'EURL Atelier Bernard', 'contact@atelier-bernard.example', '42 rue du Faubourg Saint-Antoine', '75012', 'Paris', false, 3),
	(9,  'individual',   'Nathalie', 'Girard',   NULL, 'n.girard@example.com', '9 allée des Pins', '13008', 'Marseille', false, 1),
	(10, 'professional', NULL, NULL, 'SCI Les Terrasses', 'gestion@sci-terrasses.example', '18 boulevard Haussmann', '75009', 'Paris', false, 2),
	(11, 'individual',   'Lucas',    'Bonnet',   NULL, 'lucas.bonnet@example.fr', '2 place du Marché', '21000', 'Dijon', false, 3),
	(12, 'professional', NULL, NULL, 'SA Vignobles Mercier', 'comptabilite@vignobles-mercier.example', 'Domaine de la Côte', '51100', 'Reims', false, 1),
	(13, 'individual',   'Camille',  'Lambert',  NULL, 'camille.lambert@example.org', '31 rue Nationale', '59000', 'Lille', false, 2),
	(14, 'professional', NULL, NULL, 'SARL Cabinet Dentaire Faure', 'secretariat@dentaire-faure.example', '6 rue de la République', '38000', 'Grenoble', false, 3),
	(15, 'individual',   'Hugo',     'Rousseau', NULL, 'hugo.rousseau@example.net', '11 chemin des Vignes', '67000', 'Strasbourg', false, 1),
	(16, 'professional', NULL, NULL, 'SAS Informatique Blanc', 'ap@blanc-informatique.example', '77 rue de Paris', '92100', 'Boulogne-Billancourt', false, 2),
	(17, 'individual',   'Manon',    'Guerin',   NULL, 'manon.guerin@example.com', '4 rue Pasteur', '35000', 'Rennes', false, 3),
	(18, 'professional', NULL, NULL, 'SELARL Pharmacie Muller', 'pharmacie.muller@example.fr', '20 Grand Rue', '68000', 'Colmar', false, 1),
	(19, 'individual',   'Antoine',  'Chevalier', NULL, 'antoine.chevalier.example.org', '8 rue Sainte-Catherine', '31000', 'Toulouse', false, 2),
	(20, 'professional', NULL, NULL, 'SAS Bâtiments Perrin', 'compta@perrin-batiment.example', 'Parc d''activités Nord', '63000', 'Clermont-Ferrand', false, 3);

-- Client 19's e-mail address is mistyped (no @): his reminders fail,
-- audited, and the others go on.

-- Fifty fee notes, issued every few days, payable at 30 days; amounts from
-- a few hundred euros to about 9 000 €; a third carry an online payment link.
INSERT INTO dunning.invoice (number, client_id, matter_ref, issued_on, due_on, amount, payment_url)
SELECT format('NH-2026-%s', lpad(g::text, 4, '0')),
       1 + (g * 7) % 20,
       format('D-%s', 100 + (g * 13) % 60),
       date '2026-01-05' + (g * 3) % 62,
       date '2026-01-05' + (g * 3) % 62 + 30,
       (240 + (g * 1733) % 8800)::numeric + ((g * 37) % 100) / 100.0,
       CASE WHEN g % 3 = 0
            THEN format('https://paiement.cabinet-martin.example/NH-2026-%s', lpad(g::text, 4, '0'))
       END
FROM generate_series(1, 50) g;

-- Most clients pay on time: two in five notes are settled before their due
-- date, and one in seven is half paid.
INSERT INTO dunning.payment (invoice_id, amount, received_at, reference)
SELECT i.id, i.amount, (i.due_on - 2) + time '11:00', 'VIR ' || i.number
FROM dunning.invoice i WHERE i.id % 5 IN (1, 3);
INSERT INTO dunning.payment (invoice_id, amount, received_at, reference)
SELECT i.id, round(i.amount / 2, 2), (i.due_on + 1) + time '15:00', 'VIR ' || i.number
FROM dunning.invoice i WHERE i.id % 7 = 4 AND i.id % 5 NOT IN (1, 3);

COMMIT;
